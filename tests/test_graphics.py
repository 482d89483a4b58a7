"""The graphics check (runtime/graphics.py): drawn fills beside sharp edges score, photos' textures do not,
and the shipped rule withholds held-out portraits with a caption drawn over them, which it called generated
before (seed portraits from ../shared; skipped when absent)."""

import csv
import io

from PIL import Image, ImageDraw

from conftest import encode, texture
from facespectra import cli
from facespectra.runtime import decode, graphics
from facespectra.runtime.model import SpectralModel
from facespectra.runtime.verdict import REASONS, has_graphics


def captioned(img):
    img = img.copy()
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, int(img.height * 0.7), img.width - 1, int(img.height * 0.78)), fill=(0, 0, 0))
    draw.text((40, int(img.height * 0.72)), "Breaking news: something happened today", fill=(255, 255, 255))
    return img


def test_a_caption_scores_and_a_texture_does_not():
    plain = texture(1024, seed=4)
    for img in (plain, plain.convert("L")):
        assert graphics.score(decode.load(encode(img, "JPEG", quality=90))) == 0.0
    assert graphics.score(decode.load(encode(captioned(plain), "JPEG", quality=90))) > 0.005
    assert graphics.score(Image.new("L", (5, 5))) == 0.0  # under one block: nothing to read


def test_the_limit_withholds_above_it_and_a_score_that_is_no_number():
    rule = {"graphics_threshold": 0.003}
    assert not has_graphics(0.003, rule) and has_graphics(0.0031, rule) and has_graphics(float("nan"), rule)
    assert not has_graphics(0.5, {}) and not has_graphics(None, rule)  # weights without the check, or unread


def test_the_shipped_limit_is_the_highest_unedited_training_photo():
    model = SpectralModel.load(cli.default_weights())
    for rule in (model.verdict_rule, model.cnn.verdict_rule):
        assert 0 < rule["graphics_threshold"] < 0.005


def test_held_out_portraits_with_a_caption_are_withheld(seed_data, tmp_path, capsys):
    from facespectra.train.train import held_out_items

    model = SpectralModel.load(cli.default_weights())
    for it in held_out_items(seed_data, model.provenance["split"]):
        img = captioned(Image.open(it.path).convert("RGB"))
        (tmp_path / f"{('real', 'fake')[it.label]}-{it.path.stem}.jpg").write_bytes(encode(img, "JPEG", quality=92))
    assert cli.main(["predict", str(tmp_path)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(list(tmp_path.iterdir())) and {r["detectors"] for r in rows} == {"both"}
    assert {(r["verdict"], r["reason"]) for r in rows} == {("uncertain", REASONS["graphics"])}
