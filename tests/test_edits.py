"""The everyday edits the verdict rule is fitted over: drawn per image, reproducible, and doing what they say."""

import io

import numpy as np
import pytest
from PIL import Image

from conftest import texture
from facespectra.train import edits
from facespectra.train.augment import Variant, apply, jpeg_bytes
from facespectra.train.evaluate import CONDITIONS, HELD_OUT_CONDITIONS, condition_variant


@pytest.mark.parametrize("kind", edits.FITTED + edits.HELD_OUT)
def test_each_kind_is_drawn_reproducibly_and_changes_the_pixels(kind):
    spec = edits.draw(kind, np.random.default_rng(1))
    assert spec == edits.draw(kind, np.random.default_rng(1)) and edits.kind_of(spec) == kind
    img = texture(256)
    out = edits.apply_edit(img, spec)
    assert out.mode == "RGB" and not np.array_equal(np.asarray(out), np.asarray(img))
    if kind.startswith("enlarge"):
        assert out.width > img.width and out.height > img.height
    else:
        assert out.size == img.size  # phones keep the size when they crop, straighten or filter


def test_straightening_leaves_no_empty_corners():
    """A rotated picture is cropped inside itself: no black wedge from outside the original frame."""
    white = Image.new("RGB", (300, 300), (255, 255, 255))
    out = np.asarray(edits.apply_edit(white, "rotate:8.00:bicubic"))
    assert out.min() > 200


def test_the_edit_conditions_cover_every_kind_and_hold_some_out():
    assert {f"edit_{k}" for k in edits.FITTED + edits.HELD_OUT} <= set(CONDITIONS)
    assert set(HELD_OUT_CONDITIONS) == {f"edit_{k}" for k in edits.HELD_OUT}
    variant = condition_variant("edit_rotate", "abc")
    assert edits.kind_of(variant.edit) == "rotate" and 70 <= variant.quality <= 95
    assert condition_variant("edit_rotate", "abd") != variant  # each image draws its own


def test_an_edited_variant_is_a_jpeg_of_the_edited_picture():
    src = jpeg_bytes(texture(256), 95)
    variant = Variant(edit="enlarge:1.500:lanczos", quality=80)
    out = Image.open(io.BytesIO(apply(src, variant)))
    assert out.format == "JPEG" and out.size == (384, 384)
    assert "edit=" in variant.key() and "edit=" not in Variant(quality=80).key()
