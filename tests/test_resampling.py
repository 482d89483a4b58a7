"""runtime/resampling.score: enlarged, cropped-and-resized, straightened and down-and-up copies of a picture
score above a threshold that the picture, its plain JPEG re-saves and its edits without resampling stay
below; blank and tiny pictures give 0.0."""

import math

import numpy as np
import pytest
from PIL import Image

from facespectra.runtime import decode, resampling, resave
from facespectra.train import edits

THRESHOLD = 4.0  # unedited textures score about 2, their resampled copies 5 and more
EDITS = ("enlarge:1.250:lanczos", "enlarge:1.500:bicubic", "crop:0.800:0.500:0.500:bicubic", "rotate:5.00:bicubic",
         "downup:0.700:bicubic")
NOT_RESAMPLING = ("sharpen:1.50:100", "tone:1.100:0.900:1.100", "noise:3.00:5")


def natural_texture(size=1024, seed=0):
    """An RGB picture with a 1/f spectrum (as natural images have) and detail up to Nyquist, never resampled."""
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(size)[:, None], np.fft.rfftfreq(size)[None, :]
    amplitude = 1.0 / np.maximum(np.hypot(fy, fx), 1.0 / size)
    channels = []
    for _ in range(3):
        spectrum = amplitude * (rng.normal(size=amplitude.shape) + 1j * rng.normal(size=amplitude.shape))
        channels.append(np.fft.irfft2(spectrum, s=(size, size)))
    a = np.stack(channels, axis=-1)
    a = (a - a.mean()) / a.std() * 40 + 128
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "RGB")


def saved_luma(img, quality=90):
    return decode.load(resave.jpeg_bytes(img, quality), gray="luma")


@pytest.fixture(scope="module")
def picture():
    return natural_texture()


@pytest.mark.parametrize("quality", [70, 85, 95])
def test_originals_and_their_resaves_stay_below(picture, quality):
    assert resampling.score(saved_luma(picture, quality)) < THRESHOLD


def test_lossless_original_stays_below(picture):
    assert resampling.score(picture.convert("L")) < THRESHOLD


@pytest.mark.parametrize("spec", EDITS)
@pytest.mark.parametrize("quality", [75, 90])
def test_each_resampling_edit_scores_above(picture, spec, quality):
    assert resampling.score(saved_luma(edits.apply_edit(picture, spec), quality)) > THRESHOLD


@pytest.mark.parametrize("spec", NOT_RESAMPLING)
def test_edits_without_resampling_stay_below(picture, spec):
    assert resampling.score(saved_luma(edits.apply_edit(picture, spec))) < THRESHOLD


def test_edits_score_above_the_original_on_other_pictures():
    for seed in (1, 2):
        picture = natural_texture(512, seed)
        original = resampling.score(saved_luma(picture))
        for spec in EDITS:
            assert resampling.score(saved_luma(edits.apply_edit(picture, spec))) > original, spec


@pytest.mark.parametrize("size", [(64, 64), (64, 300), (70, 65), (1, 1), (8, 2000)])
def test_blank_and_tiny_give_zero(size):
    assert resampling.score(Image.new("L", size, 128)) == 0.0


@pytest.mark.parametrize("size", [(64, 64), (65, 97), (300, 64), (2000, 64)])
def test_small_and_odd_shapes_give_a_finite_score(size):
    rng = np.random.default_rng(sum(size))
    img = Image.fromarray(rng.integers(0, 256, size[::-1], dtype=np.uint8), "L")
    value = resampling.score(img)
    assert math.isfinite(value) and value >= 0.0


def test_two_level_and_saturated_pictures_give_a_finite_score():
    stripes = np.zeros((256, 256), np.uint8)
    stripes[:, ::2] = 255
    for img in (Image.fromarray(stripes), Image.fromarray(np.full((256, 256), 255, np.uint8))):
        assert math.isfinite(resampling.score(img))


def test_deterministic(picture):
    data = resave.jpeg_bytes(edits.apply_edit(picture, EDITS[2]), 85)
    values = {resampling.score(decode.load(data, gray="luma")) for _ in range(3)}
    assert len(values) == 1
