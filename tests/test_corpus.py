"""The corpus of dropped files, through the extractor, classify_bytes and the CLI: every file one outcome."""

import csv
import io
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

from corpus import (CorpusItem, build_corpus, corpus_kinds, encode, exif_orientation, jpeg, markdown_table, png_rgb16,
                    png_zlib_bomb, texture)
from conftest import small_model
from facespectra import api, cli
from facespectra.runtime import decode
from facespectra.runtime.classify import classify_bytes
from facespectra.runtime.errors import InputError
from facespectra.runtime.spectrum import FeatureConfig, extract, features_from_image

CFG = FeatureConfig()
CORPUS_MD = Path(__file__).with_name("CORPUS.md")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(small_model(CFG).to_dict()))
    return path


def assert_outcome(item, label, p_fake, error):
    """ok: a verdict (the label carries it) with a finite probability; error: a message naming the reason."""
    if item.expect == "ok":
        assert label in ("real", "fake", "uncertain"), (item.kind, error)
        assert math.isfinite(p_fake) and 0.0 <= p_fake <= 1.0
    else:
        assert label == "error", item.kind
        assert item.reason.lower() in error.lower(), (item.kind, error)


def test_corpus_has_many_distinct_kinds(corpus):
    """The issue asks for at least 30 kinds; duplicates would hide a missing one."""
    kinds = [it.kind for it in corpus]
    assert len(kinds) >= 30 and len(set(kinds)) == len(kinds)
    assert {it.expect for it in corpus} == {"ok", "error"}


def test_corpus_through_extract(corpus):
    """The shared validation path alone: finite features of the right length, or InputError with the reason."""
    for it in corpus:
        data = it.path.read_bytes()
        if it.expect == "ok":
            feats = extract(data, CFG)
            assert feats.shape == (CFG.n_features,) and np.all(np.isfinite(feats)), it.kind
        else:
            with pytest.raises(InputError) as info:
                extract(data, CFG)
            assert it.reason.lower() in str(info.value).lower(), (it.kind, str(info.value))


@pytest.mark.parametrize("gray", ["luma", "mean"])
def test_corpus_through_classify_bytes(corpus, gray):
    """What the page's worker runs: one row per file, both gray recipes, never an exception."""
    model = small_model(FeatureConfig(gray=gray))
    for it in corpus:
        row = classify_bytes(it.path.read_bytes(), model)
        assert_outcome(it, row["label"], row["p_fake"], row["error"])


def test_corpus_through_cli(corpus, weights, tmp_path):
    """Every corpus file gets exactly one CSV row, hostile names included, and the CSV parses back."""
    out = tmp_path / "out.csv"
    assert cli.main(["predict", str(corpus[0].path.parent), "--weights", str(weights), "--csv", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_path = {}
    for row in rows:
        assert row["path"] not in by_path
        by_path[row["path"]] = row
    assert len(rows) == len(corpus)
    for it in corpus:
        row = by_path[api.display_path(it.path)]
        assert_outcome(it, row["label"], float(row["p_fake"]) if row["p_fake"] else None, row["error"])


def test_non_utf8_name_is_shown_escaped_in_valid_utf8(corpus, weights, tmp_path):
    """A name with undecodable bytes must not crash the writer; its bytes appear as \\xNN."""
    item = next(it for it in corpus if it.kind == "name-non-utf8")
    out = tmp_path / "out.csv"
    cli.main(["predict", str(item.path), "--weights", str(weights), "--csv", str(out)])
    text = out.read_bytes().decode("utf-8")
    assert "caf\\xe9-\\xff.png" in text


def test_corpus_md_matches_the_builder():
    """CORPUS.md is the documented list of kinds and outcomes; it must not drift from build_corpus."""
    assert markdown_table(corpus_kinds()) in CORPUS_MD.read_text(encoding="utf-8"), \
        "regenerate the table: python tests/corpus.py"


def test_corpus_item_fields_are_consistent():
    """An "ok" kind has no reason and every "error" kind names one, or the message check would be vacuous."""
    for it in corpus_kinds():
        assert isinstance(it, CorpusItem)
        assert (it.expect == "ok") == (it.reason == ""), it.kind


def _load_array(data, gray="luma"):
    return np.asarray(decode.load(data, gray=gray))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(orientation):
    """Features of an EXIF-tagged JPEG equal those of the same pixels turned upright by Pillow's own
    ImageOps.exif_transpose (an independent reference, not decode's table)."""
    tagged = jpeg(exif=exif_orientation(orientation))
    reference = Image.open(io.BytesIO(tagged))
    reference.draft("L", reference.size)  # the decoder's luma, as decode.load takes it
    upright = ImageOps.exif_transpose(reference)
    assert np.array_equal(_load_array(tagged), np.asarray(upright))
    assert np.array_equal(extract(tagged, CFG), features_from_image(upright, CFG))


def test_rotation_changes_features():
    """Guards the test above: orientation 6 on a non-square image must change the features."""
    assert not np.array_equal(extract(jpeg(exif=exif_orientation(6)), CFG), extract(jpeg(), CFG))


def test_corrupt_exif_keeps_the_pixels():
    """A garbage EXIF block loses only the orientation hint, not the image."""
    broken = jpeg(exif=b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xf0" + bytes(range(200)))
    assert np.array_equal(_load_array(broken), _load_array(jpeg()))


@pytest.mark.parametrize("fmt,kw", [("GIF", {}), ("WEBP", {"lossless": True}), ("TIFF", {})])
def test_first_frame_only(fmt, kw):
    """Animations and multi-page files give their first frame, exactly."""
    frames = [texture(seed=s, channels=1) for s in (3, 4, 5)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], **kw)
    assert np.array_equal(_load_array(data), np.asarray(frames[0]))


def test_sixteen_bit_gray_and_rgb_agree():
    """16-bit gray and 16-bit RGB of the same gray pixels give identical luma (top byte, like Pillow's RGB;16)."""
    arr16 = (np.asarray(texture(channels=1), dtype=np.uint16) * 257 + 77)
    gray_png = encode(Image.fromarray(arr16), "PNG")
    gray8 = (arr16 >> 8).astype(np.uint8)
    rgb_png = png_rgb16(np.repeat(gray8[..., None], 3, axis=2))
    assert np.array_equal(_load_array(gray_png), gray8)
    assert np.array_equal(_load_array(rgb_png), gray8)
    assert np.array_equal(_load_array(encode(Image.fromarray(arr16), "TIFF")), gray8)


def test_dark_sixteen_bit_image_is_not_mistaken_for_8_bit():
    """12-bit data in a 16-bit file is scaled by the container's depth, not by its content: it comes out dark."""
    arr16 = np.asarray(texture(channels=1), dtype=np.uint16) * 16  # 0..4080 out of 65535
    assert _load_array(encode(Image.fromarray(arr16), "PNG")).max() == arr16.max() >> 8


def test_float_image_is_stretched_to_full_range():
    """Float pixels have no white level: min maps to 0 and max to 255."""
    arr = np.asarray(texture(channels=1), dtype=np.float32) * 1e-3 - 7.0
    out = _load_array(encode(Image.fromarray(arr, "F"), "TIFF"))
    assert out.min() == 0 and out.max() == 255


def test_alpha_is_composited_on_white():
    """Fully transparent pixels become the fixed white background, whatever colour they hide."""
    rgba = np.zeros((80, 96, 4), np.uint8)
    rgba[..., :3] = np.asarray(texture())
    rgba[:, :48, 3] = 255
    out = _load_array(encode(Image.fromarray(rgba, "RGBA"), "PNG"), gray="mean")
    assert (out[:, 48:] == 255).all() and not (out[:, :48] == 255).all()


def test_every_jpeg_prefix_is_refused():
    """Cutting a JPEG anywhere, even just before its end marker, is refused: never a half-gray image."""
    data = jpeg()
    for cut in list(range(2, len(data), 61)) + [len(data) - 2, len(data) - 1]:
        with pytest.raises(InputError) as info:
            decode.load(data[:cut])
        assert any(w in str(info.value) for w in ("truncated", "cut short", "corrupt")), (cut, str(info.value))


def test_bomb_is_refused_before_any_decoding(monkeypatch):
    """The 20000×20000 PNG must be refused from its header: the pixel decoder is never entered."""
    calls = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: calls.append(self))
    with pytest.raises(InputError, match="20000×20000 pixels; the limit is 40,000,000 pixels"):
        decode.load(png_zlib_bomb())
    assert calls == []


def test_truncated_images_flag_is_never_left_on(monkeypatch):
    """With Pillow's LOAD_TRUNCATED_IMAGES on, cut files would decode half-gray; load refuses to run at all."""
    import importlib
    import pkgutil

    import facespectra

    for mod in pkgutil.iter_modules(facespectra.__path__):
        importlib.import_module(f"facespectra.{mod.name}")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode.load(jpeg())


def test_unexpected_decoder_exception_becomes_input_error(monkeypatch):
    """Whatever a Pillow decoder raises inside load, the caller sees an InputError with a message."""
    def boom(self):
        raise KeyError("internal table")

    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    with pytest.raises(InputError, match="corrupt"):
        decode.load(encode(texture(), "PNG"))


def test_stdout_csv_is_utf8_on_an_ascii_terminal(corpus, weights):
    """Names and messages with non-ASCII characters are written as UTF-8 even when the locale is ASCII."""
    import subprocess
    import sys

    items = [it for it in corpus if it.kind in ("name-non-utf8", "png-63x63")]
    env = dict(os.environ, PYTHONIOENCODING="ascii")
    proc = subprocess.run([sys.executable, "-m", "facespectra.cli", "predict", *[os.fsencode(it.path) for it in items],
                           "--weights", str(weights)], capture_output=True, env=env, check=True)
    rows = list(csv.reader(io.StringIO(proc.stdout.decode("utf-8"))))
    assert len(rows) == 1 + len(items)
    error = rows[0].index("error")
    assert any("63×63" in row[error] for row in rows[1:])


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_an_image_with_a_one_colour_middle_row_is_not_blank(mode):
    """The blank check looks at the middle row first; one pixel elsewhere must still save the image."""
    px = np.full((96, 80) if mode == "L" else (96, 80, 3), 128, dtype=np.uint8)
    px[5, 7] = 0
    img = decode.load(encode(Image.fromarray(px, mode), "PNG"), gray="luma" if mode == "L" else "mean")
    assert img.size == (80, 96)
    px[5, 7] = 128
    with pytest.raises(InputError, match="blank"):
        decode.load(encode(Image.fromarray(px, mode), "PNG"), gray="luma" if mode == "L" else "mean")
