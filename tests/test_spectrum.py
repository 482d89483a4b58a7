"""The extractor: the seed recipe reproduced exactly, fixed-length vectors for any size, clear errors."""

import numpy as np
import pytest
from PIL import Image

from conftest import encode, texture
from facespectra.runtime import spectrum
from facespectra.runtime.errors import InputError
from facespectra.runtime.spectrum import SEED, FeatureConfig

# The product's configs take the logarithm in float32 (spectrum._log_power): against a float64
# reference, ring averages of 20·log10-like values (~100) agree to about 1e-5.
LOG32_ATOL = 1e-4


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
    np.testing.assert_allclose(got[filled], expected, rtol=0, atol=LOG32_ATOL)


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


# Options added for issue 3: spread per ring, a diagonal sector, a second scale, grid peaks.

def _gray(side, seed=7, upsample=1):
    return np.asarray(texture(side, seed=seed, upsample=upsample).convert("L"), dtype=np.float64)


def test_later_options_at_their_defaults_keep_older_configs_and_cache_keys_unchanged():
    older_keys = {"name", "gray", "resize", "crop", "max_side", "window", "fft_norm", "radial", "bins",
                  "log_scale", "eps", "drop_first", "drop_last", "angular"}
    assert set(FeatureConfig(angular="axes").to_dict()) == older_keys
    cfg = FeatureConfig(angular="axes_diag", ring_std=True, scales=2, grid_peaks=8)
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    assert {"ring_std", "scales", "grid_peaks"} <= set(cfg.to_dict())


@pytest.mark.parametrize("bad, message", [
    ({"ring_std": 1}, "ring_std must be true or false"),
    ({"scales": 3}, "scales must be one of"),
    ({"grid_peaks": 7}, "grid_peaks must be one of"),
    ({"angular": "diagonal"}, "angular must be one of"),
    ({"ring_std": True, "radial": "integer", "resize": 128}, "need radial='normalised'"),
])
def test_later_options_reject_nonsense_with_a_clear_message(bad, message):
    with pytest.raises(ValueError, match=message):
        FeatureConfig(**bad)


@pytest.mark.parametrize("size", [(64, 64), (65, 97), (300, 500), (1024, 1024)])
def test_every_option_gives_the_advertised_length_for_any_size(size):
    cfg = FeatureConfig(angular="axes_diag", ring_std=True, scales=2, grid_peaks=8)
    img = texture(max(size), seed=3).resize(size)
    feats = spectrum.extract(encode(img, "PNG"), cfg)
    assert feats.shape == (cfg.n_features,) == cfg.frequencies().shape
    assert cfg.n_features == 63 * 3 * 2 * 2 + len(cfg.grid_points())
    assert np.all(np.isfinite(feats))


def _slow_rings(gray, cfg):
    """Full-plane fft2: per ring and sector, mean and std of the log magnitude, one mask at a time."""
    h, w = gray.shape
    mag = cfg.log_scale * np.log(np.abs(np.fft.fft2(gray, norm="ortho")) + cfg.eps)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    ring = np.floor(2 * np.hypot(fy, fx) * cfg.bins).astype(int)
    from_axis = np.degrees(np.arctan2(np.abs(fy), np.abs(fx)))
    from_axis = np.minimum(from_axis, 90 - from_axis)
    sector = (from_axis > 15).astype(int) + (from_axis >= 30)
    out = {}
    for s in range(3):
        for k in range(cfg.bins):
            m = (ring == k) & (sector == s)
            if m.any():
                out[s, k] = (mag[m].mean(), mag[m].std())
    return out


def test_diagonal_sectors_and_ring_spread_match_the_full_plane_the_slow_way():
    cfg = FeatureConfig(window="none", drop_first=False, angular="axes_diag", ring_std=True, bins=16)
    gray = _gray(96)
    got = spectrum.radial_profile(gray, cfg).reshape(2, 3, cfg.bins)  # (mean|std, sector, ring)
    for (s, k), (mean, std) in _slow_rings(gray, cfg).items():
        assert got[0, s, k] == pytest.approx(mean, abs=LOG32_ATOL)
        assert got[1, s, k] == pytest.approx(std, abs=LOG32_ATOL)


@pytest.mark.parametrize("shape", [(96, 96), (80, 131), (131, 80)])
def test_features_of_the_transposed_image_are_the_same(shape):
    """Rings, sectors and grid points are symmetric under transposition, so a layout slip in the
    half spectrum (stored transposed) or its tables would show as a difference here."""
    cfg = FeatureConfig(angular="axes_diag", ring_std=True, grid_peaks=8, crop="none")
    gray = _gray(max(shape))[:shape[0], :shape[1]]
    np.testing.assert_allclose(spectrum.radial_profile(gray.T.copy(), cfg), spectrum.radial_profile(gray, cfg),
                               rtol=0, atol=LOG32_ATOL)


def test_diagonal_stripes_raise_the_diagonal_sector_only():
    cfg = FeatureConfig(angular="axes_diag")
    y, x = np.mgrid[0:256, 0:256]
    plain = _gray(256)
    striped = plain + 20 * np.cos(2 * np.pi * 0.2 * (x + y))  # a line at (0.2, 0.2) cycles/pixel
    diff = (spectrum.radial_profile(striped, cfg) - spectrum.radial_profile(plain, cfg)).reshape(3, 63)
    ring = int(np.floor(2 * np.hypot(0.2, 0.2) * 64)) - 1  # drop_first shifts by one
    assert diff[2, ring] > 3.0
    assert abs(diff[0, ring]) < 0.5 and abs(diff[1, ring]) < 0.5


def test_second_scale_is_the_profile_of_the_image_halved_by_block_means():
    cfg = FeatureConfig(angular="axes", scales=2)
    gray = _gray(130)
    feats = spectrum.radial_profile(gray, cfg)
    halved = gray.reshape(65, 2, 65, 2).mean(axis=(1, 3))
    single = FeatureConfig(angular="axes")
    np.testing.assert_allclose(feats[:126], spectrum.radial_profile(gray, single), rtol=0, atol=1e-12)
    np.testing.assert_allclose(feats[126:], spectrum.radial_profile(halved, single), rtol=0, atol=1e-9)
    np.testing.assert_allclose(cfg.frequencies()[126:], single.frequencies() / 2)


def _transposed_conv_up(gray):
    """2× up-sampling by a stride-2 transposed convolution with a 3-tap kernel: the uneven overlap
    (one tap on even pixels, two on odd ones) leaves the classic checkerboard."""
    h, w = gray.shape
    up = np.zeros((2 * h + 2, 2 * w + 2))
    up[1:-1:2, 1:-1:2] = gray
    for axis in (0, 1):
        up = np.roll(up, 1, axis) + up + np.roll(up, -1, axis)
    return up[1:-1, 1:-1]


def test_grid_peaks_find_a_transposed_convolution_checkerboard():
    """Stride-2 checkerboard: peaks at 1/2 cycles/pixel, grid points (0, 4) and (4, 4) of an 8-grid."""
    cfg = FeatureConfig(grid_peaks=8)
    points = cfg.grid_points()
    gray = _gray(256, seed=4)
    plain = spectrum.radial_profile(gray, cfg)[-len(points):]
    smooth = np.asarray(Image.fromarray(gray[::2, ::2].astype(np.float32), "F").resize((256, 256), Image.BILINEAR))
    bilinear = spectrum.radial_profile(smooth.astype(np.float64), cfg)[-len(points):]
    checker = spectrum.radial_profile(_transposed_conv_up(gray[::2, ::2]), cfg)[-len(points):]
    for point in ((0, 4), (4, 4)):
        i = points.index(point)
        assert checker[i] - plain[i] > 10.0
        assert checker[i] - bilinear[i] > 10.0
    assert np.all(np.isfinite(checker))


def test_grid_peaks_see_a_faint_period_8_pattern_at_every_multiple_of_one_eighth():
    cfg = FeatureConfig(grid_peaks=8)
    points = cfg.grid_points()
    plain = _gray(512, seed=5)
    y, x = np.mgrid[0:512, 0:512]
    pattern = 3.0 * ((x % 8 == 0) | (y % 8 == 0))  # a block-edge grid, as JPEG or a stride-8 layer leaves
    diff = spectrum.radial_profile(plain + pattern, cfg)[-len(points):] - spectrum.radial_profile(plain, cfg)[-len(points):]
    for b in range(1, 5):
        assert diff[points.index((0, b))] > 3.0
