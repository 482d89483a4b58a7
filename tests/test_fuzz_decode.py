"""Mutated image bytes through validation + extraction: a finite feature vector or InputError, nothing else."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from corpus import encode, texture
from facespectra.runtime.errors import InputError
from facespectra.runtime.spectrum import FeatureConfig, extract

CONFIGS = (FeatureConfig(), FeatureConfig(gray="mean"))


def _seeds():
    img = texture(64, 72)
    frames = [texture(64, 64, seed=s, channels=1) for s in (1, 2)]
    return {
        "jpeg": encode(img, "JPEG", quality=80),
        "jpeg-progressive": encode(img, "JPEG", progressive=True),
        "png": encode(img, "PNG"),
        "png16": encode(Image.fromarray(np.asarray(frames[0], dtype=np.uint16) * 200), "PNG"),
        "gif": encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "tiff": encode(img, "TIFF"),
        "tiff-float": encode(Image.fromarray(np.asarray(frames[0], dtype=np.float32), "F"), "TIFF"),
        "webp": encode(img, "WEBP", quality=70),
        "webp-anim": encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True),
        "bmp": encode(img, "BMP"),
    }


SEEDS = _seeds()
FIELD_VALUES = (0, 1, 63, 64, 255, 0x7FFF, 0xFFFF, 30000, 0x7FFFFFFF, 0xFFFFFFFF)


@st.composite
def mutation(draw, data):
    """One edit: bit flip, truncation, splice from another seed, or a header field overwritten."""
    kind = draw(st.sampled_from(["flip", "truncate", "splice", "field"]))
    if kind == "flip":
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + bytes([data[i] ^ (1 << draw(st.integers(0, 7)))]) + data[i + 1:]
    if kind == "truncate":
        return data[:draw(st.integers(0, len(data) - 1))]
    if kind == "splice":
        other = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
        i, j = draw(st.integers(0, len(data))), draw(st.integers(0, len(other)))
        return data[:i] + other[j:j + draw(st.integers(1, 512))] + data[i:]
    i = draw(st.integers(0, min(len(data), 128) - 1))  # headers live at the start
    width, order = draw(st.sampled_from([(2, "big"), (2, "little"), (4, "big"), (4, "little")]))
    value = draw(st.sampled_from(FIELD_VALUES)) % (1 << (8 * width))
    return data[:i] + value.to_bytes(width, order) + data[i + width:]


@st.composite
def mutated(draw, name):
    data = SEEDS[name]
    for _ in range(draw(st.integers(1, 3))):
        if data:
            data = draw(mutation(data))
    return data


@pytest.mark.parametrize("name", sorted(SEEDS))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_bytes_give_features_or_input_error(name, data):
    """Whatever the damage, the caller gets features it can use or our InputError with a message."""
    blob = data.draw(mutated(name))
    cfg = data.draw(st.sampled_from(CONFIGS))
    try:
        feats = extract(blob, cfg)
    except InputError as exc:
        assert str(exc)
    else:
        assert feats.shape == (cfg.n_features,) and np.all(np.isfinite(feats))


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seeds_are_valid(name):
    """Unmutated seeds must decode, or the fuzzing above would only ever test the refusal path."""
    assert np.all(np.isfinite(extract(SEEDS[name], CONFIGS[0])))
