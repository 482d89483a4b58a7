"""Augmentation must really change the JPEG quality; synthetic up-samplers must leave their traces."""

import io

import numpy as np
import pytest
from PIL import Image

from facespectra.runtime import spectrum
from facespectra.train import augment, upsamplers


def _photo(side=128, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (side // 8, side // 8, 3), dtype=np.uint8)
    img = Image.fromarray(small, "RGB").resize((side, side), Image.BICUBIC)
    arr = np.clip(np.asarray(img, dtype=float) + rng.normal(0, 6, (side, side, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def _luma_table(data):
    return np.array(Image.open(io.BytesIO(data)).quantization[0])


@pytest.mark.parametrize("quality", [65, 95])
def test_reencode_changes_quality(quality):
    src = augment.jpeg_bytes(_photo(), 100)
    out = augment.apply(src, augment.Variant(quality=quality))
    assert Image.open(io.BytesIO(out)).format == "JPEG"
    assert np.array_equal(_luma_table(out), _luma_table(augment.jpeg_bytes(_photo(), quality)))
    assert _luma_table(out).mean() > _luma_table(src).mean()  # coarser quantisation than q100's all-ones


def test_resize_and_crop_variant():
    src = augment.jpeg_bytes(_photo(256), 90)
    out = Image.open(io.BytesIO(augment.apply(src, augment.Variant(quality=80, side=96, crop=0.75, cx=0.0))))
    assert out.size == (96, 96)


def test_identity_variant_returns_the_original_bytes():
    src = augment.jpeg_bytes(_photo(), 75)
    assert augment.apply(src, augment.Variant()) is src


def test_plan_is_reproducible_and_synthetic_only_for_reals():
    plan = augment.AugmentPlan(n_jpeg=3, n_resized=2, n_synthetic=1, seed=4)
    assert plan.variants("abc", 0) == plan.variants("abc", 0)
    assert sum(bool(v.upsampler) for v in plan.variants("abc", 0)) == 1
    assert not any(v.upsampler for v in plan.variants("abc", 1))
    qualities = {v.quality for h in "abcdefgh" for v in plan.variants(h, 1) if v.quality}
    assert min(qualities) < 75 and max(qualities) > 95  # above and below both classes' originals
    assert all(v.label(0) == 1 for v in plan.variants("abc", 0) if v.upsampler)


def test_synthetic_fakes_mix_up_sampling_depths():
    """Generators double their image many times: synthetic fakes get 1..max_stages stages, drawn per fake,
    and a plain variant's cache key does not depend on the stages field it does not use."""
    plan = augment.AugmentPlan(n_jpeg=0, n_resized=0, n_synthetic=3, max_stages=3, seed=0)
    stages = [v.stages for h in "abcdefghijklmnop" for v in plan.variants(h, 0) if v.upsampler]
    assert set(stages) == {1, 2, 3}
    assert "stages" not in augment.Variant(quality=80).key() and "stages=2" in augment.Variant(upsampler="nearest", stages=2).key()


def _ring_energy(gray, lo, hi):
    f = np.abs(np.fft.fft2(gray - gray.mean()))
    fy, fx = np.meshgrid(np.fft.fftfreq(gray.shape[0]), np.fft.fftfreq(gray.shape[1]), indexing="ij")
    r = np.maximum(np.abs(fx), np.abs(fy))
    return f[(r >= lo) & (r <= hi)].mean()


@pytest.mark.parametrize("kind", upsamplers.KINDS)
def test_upsampler_shape_and_deterministic(kind):
    img = _photo(96)
    out = upsamplers.synthesise(img, kind, seed=3)
    assert out.size == img.size and out.mode == "RGB"
    assert np.array_equal(np.asarray(out), np.asarray(upsamplers.synthesise(img, kind, seed=3)))
    assert not np.array_equal(np.asarray(out), np.asarray(upsamplers.synthesise(img, kind, seed=4)))


def test_transposed_convolution_puts_a_peak_at_nyquist():
    # a smooth input has almost nothing near Nyquist; the stride-2 network mirrors its low
    # frequencies there (the checkerboard), so the band next to 0.5 c/px rises above its neighbour
    rng = np.random.default_rng(0)
    x = np.asarray(_photo(64).resize((64, 64)), dtype=float) / 127.5 - 1.0
    y = upsamplers.upsample(x, "transposed", rng, 0.3).mean(axis=2)
    assert y.shape == (128, 128)
    assert _ring_energy(y, 0.47, 0.5) > 2 * _ring_energy(y, 0.3, 0.4)


def test_axes_option_length_frequencies_and_peak_on_axis():
    cfg = spectrum.FeatureConfig(angular="axes")
    assert cfg.n_features == 2 * spectrum.FeatureConfig().n_features == len(cfg.frequencies())
    # vertical stripes put all their energy on the horizontal axis: on-axis profile > off-axis there
    x = np.tile(np.cos(np.pi * 0.5 * np.arange(128)), (128, 1)) + np.random.default_rng(0).normal(0, 0.01, (128, 128))
    f = spectrum.radial_profile(x, cfg)
    n = cfg.n_features // 2
    band = np.argmin(np.abs(cfg.frequencies()[:n] - 0.25))
    assert f[band] > f[n + band] + 6
    with pytest.raises(ValueError):
        spectrum.FeatureConfig(angular="sideways")


def test_more_stages_shrink_further_and_leave_a_quarter_frequency_peak():
    # two nearest-neighbour doublings repeat each pixel of a quarter-size image in a 4×4 block: the
    # smooth picture's spectrum is copied around 1/4 cycles/pixel, which one doubling does not do
    img = _photo(128)
    one, two = (np.asarray(upsamplers.synthesise(img, "nearest", seed=1, stages=s).convert("L"), dtype=float)
                for s in (1, 2))
    assert one.shape == two.shape == (128, 128)

    def peakiness(g):
        return _ring_energy(g, 0.2, 0.3) / _ring_energy(g, 0.34, 0.44)

    assert peakiness(two) > 1.5 * peakiness(one)
