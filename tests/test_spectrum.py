"""The extractor: the seed recipe reproduced exactly, fixed-length vectors for any size, clear errors."""

import numpy as np
import pytest
from PIL import Image

from conftest import encode, texture
from facespectra import spectrum
from facespectra.errors import InputError
from facespectra.spectrum import SEED, FeatureConfig


def reference_seed_profile(rgb):
    """The seed method written out the slow way: one boolean mask per integer radius."""
    gray = rgb.astype(np.float64).mean(axis=2)
    mag = 20 * np.log(np.abs(np.fft.fftshift(np.fft.fft2(gray)) + 1e-8))
    h, w = gray.shape
    y, x = np.mgrid[0:h, 0:w]
    r = np.floor(np.sqrt((x - (w - 1) / 2) ** 2 + (y - (h - 1) / 2) ** 2)).astype(int)
    profile = np.array([mag[r == k].mean() for k in range(r.max() + 1)])
    return profile[1:-1]


def test_seed_config_reproduces_the_seed_method():
    img = texture(128, seed=2)
    cfg = FeatureConfig(**{**SEED.to_dict(), "resize": 128})
    ours = spectrum.extract(encode(img, "PNG"), cfg)
    np.testing.assert_allclose(ours, reference_seed_profile(np.asarray(img)), rtol=0, atol=1e-9)


def test_seed_config_gives_722_features_for_1024_images():
    data = encode(texture(1024, seed=1), "PNG")
    assert SEED.n_features == 722
    assert spectrum.extract(data, SEED).shape == (722,)


def test_half_plane_average_equals_full_plane_average():
    """rfft2 with mirror weights must give what averaging the full fft2 over each ring gives."""
    cfg = FeatureConfig(window="none", drop_first=False)
    gray = np.asarray(texture(96, seed=7).convert("L"), dtype=np.float64)
    h, w = gray.shape
    full = cfg.log_scale * np.log(np.abs(np.fft.fft2(gray, norm="ortho")) + cfg.eps)
    r = 2 * np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :])
    ring = np.floor(r * cfg.bins).astype(int)
    expected = [full[ring == k].mean() for k in range(cfg.bins) if (ring == k).any()]
    got = spectrum.radial_profile(gray, cfg)
    filled = [k for k in range(cfg.bins) if (ring == k).any()]
    np.testing.assert_allclose(got[filled], expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("size", [(64, 64), (65, 97), (500, 300), (1500, 1100)])
def test_any_size_from_64_gives_a_fixed_length_finite_vector(size):
    cfg = FeatureConfig()
    img = texture(max(size), seed=3).resize(size)
    feats = spectrum.extract(encode(img, "PNG"), cfg)
    assert feats.shape == (cfg.n_features,)
    assert np.all(np.isfinite(feats))


def test_per_shape_tables_stay_bounded_over_a_batch_of_odd_sizes():
    """Each shape's tables cost megabytes; a batch of many sizes must not keep them all (wasm32 memory)."""
    cfg = FeatureConfig(angular="axes")
    for side in range(64, 64 + 3 * (spectrum.SHAPE_CACHE + 3), 3):
        spectrum.radial_profile(np.full((side, side + 1), 7, np.uint8), cfg)
    assert spectrum._normalised_bins.cache_info().currsize <= spectrum.SHAPE_CACHE
    assert spectrum._hann2d.cache_info().currsize <= spectrum.SHAPE_CACHE


def test_uint8_and_float_gray_give_the_same_features():
    gray = np.asarray(texture(128, seed=5).convert("L"))
    cfg = FeatureConfig()
    np.testing.assert_array_equal(spectrum.radial_profile(gray, cfg), spectrum.radial_profile(gray.astype(float), cfg))


def test_images_below_64_pixels_get_a_clear_error():
    with pytest.raises(InputError, match=r"63×80 pixels; the smallest side must be at least 64"):
        spectrum.extract(encode(texture(80, seed=1).resize((63, 80)), "PNG"), FeatureConfig())


def test_orthonormal_scaling_keeps_noise_level_independent_of_size():
    """White noise has a flat spectrum whose level must not depend on the crop size."""
    rng = np.random.default_rng(0)
    levels = []
    for n in (128, 512):
        noise = Image.fromarray(rng.integers(0, 256, (n, n), dtype=np.uint8), "L")
        levels.append(spectrum.extract(encode(noise, "PNG"), FeatureConfig(window="none")).mean())
    assert abs(levels[0] - levels[1]) < 0.5


def test_upsampled_images_show_a_different_high_frequency_profile():
    """Pixel-repeat up-sampling (a generator-like artifact) must move the outer rings."""
    cfg = FeatureConfig()
    plain = spectrum.extract(encode(texture(256, seed=4), "PNG"), cfg)
    upsampled = spectrum.extract(encode(texture(256, seed=4, upsample=2), "PNG"), cfg)
    assert np.abs(plain[-16:] - upsampled[-16:]).mean() > 3.0


def test_feature_config_round_trips_and_rejects_nonsense():
    cfg = FeatureConfig(bins=32, window="none")
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.n_features == 31 and cfg.frequencies().shape == (31,)
    with pytest.raises(ValueError, match="unknown keys: colour"):
        FeatureConfig.from_dict({**cfg.to_dict(), "colour": 1})
    with pytest.raises(ValueError, match="gray must be one of"):
        FeatureConfig(gray="green")
    with pytest.raises(ValueError, match="needs a fixed resize"):
        FeatureConfig(radial="integer")
