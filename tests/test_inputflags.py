"""inputflags and explain: the input warnings the page shows, and the explanation's numbers."""

import base64

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, encode, texture
from facespectra.runtime.classify import classify_bytes
from facespectra.runtime.explain import explain_bytes, model_info
from facespectra.runtime.inputflags import MESSAGES, jpeg_quality, lossy_codec
from facespectra.runtime.model import SpectralModel


@pytest.fixture(scope="module")
def model():
    return SpectralModel.load(ROOT / "weights" / "model.json")


@pytest.mark.parametrize("quality", [20, 50, 75, 95])
def test_jpeg_quality_is_read_back_from_the_tables(quality):
    img = Image.open(__import__("io").BytesIO(encode(texture(128), "JPEG", quality=quality)))
    assert abs(jpeg_quality(img.quantization[0]) - quality) <= 1


def test_flags_name_small_heavily_compressed_and_upscaled_inputs(model):
    assert classify_bytes(encode(texture(1024, seed=1), "PNG"), model)["flags"] == []
    assert classify_bytes(encode(texture(1100, seed=1).crop((0, 0, 1100, 1024)), "PNG"), model)["flags"] == []
    assert classify_bytes(encode(texture(512, seed=1), "PNG"), model)["flags"] == ["under-1024"]
    assert classify_bytes(encode(texture(1100, seed=1).crop((0, 0, 1100, 1023)), "PNG"), model)["flags"] == ["under-1024"]
    assert classify_bytes(encode(texture(128, seed=1), "PNG"), model)["flags"] == ["small"]  # not both
    assert "heavy-jpeg" in classify_bytes(encode(texture(512, seed=1), "JPEG", quality=25), model)["flags"]
    upscaled = texture(128, seed=3).resize((512, 512), Image.BICUBIC)
    assert "little-detail" in classify_bytes(encode(upscaled, "PNG"), model)["flags"]
    assert set(MESSAGES) == {"small", "under-1024", "heavy-jpeg", "little-detail"}


def test_errors_carry_no_flags(model):
    assert classify_bytes(b"not an image", model)["flags"] == []


def test_contributions_add_up_to_the_log_odds_and_the_picture_is_128_square(model):
    data = encode(texture(300, seed=2), "JPEG", quality=90)
    row = classify_bytes(data, model)
    expl = explain_bytes(data, row["features"], model)
    assert len(expl["contributions"]) == model.config.n_features
    # one band weighted (coefficient 3, mean 1, scale 2): only it contributes, 3 × (x − 1) / 2, worked by hand
    k = 5
    one = SpectralModel(model.config, np.ones(model.config.n_features), np.full(model.config.n_features, 2.0),
                        np.eye(model.config.n_features)[k] * 3.0, 0.0)
    got = explain_bytes(data, row["features"], one)["contributions"]
    assert got[k] == pytest.approx(3.0 * (row["features"][k] - 1.0) / 2.0)
    assert [v for i, v in enumerate(got) if i != k] == [0.0] * (model.config.n_features - 1)
    assert len(base64.b64decode(expl["picture"])) == expl["side"] ** 2 == 128 * 128
    info = model_info(model)
    assert len(info["frequencies"]) == model.config.n_features and set(info["reference"]) >= {"mean_real", "mean_fake"}


@pytest.mark.parametrize("options", [{}, {"angular": "axes"}, {"angular": "axes", "grid_peaks": 8},
                                     {"angular": "axes_diag", "ring_std": True, "scales": 2, "grid_peaks": 16}])
def test_model_info_blocks_tile_the_vector_and_label_every_feature(options):
    from conftest import small_model
    from facespectra.runtime.spectrum import FeatureConfig

    cfg = FeatureConfig(**options)
    info = model_info(small_model(cfg))
    blocks = info["blocks"]
    assert [b["start"] for b in blocks] == list(np.cumsum([0] + [b["length"] for b in blocks[:-1]]))
    assert sum(b["length"] for b in blocks) == cfg.n_features == len(info["frequencies"])
    assert blocks[0]["kind"] == "mean" and blocks[0]["length"] == 63  # the page's spectrum chart
    assert len(info["labels"]) == cfg.n_features
    if cfg.angular == "axes":
        assert info["labels"][0] == "near the axes" and info["labels"][63] == "off the axes"
    if cfg.grid_peaks:
        assert info["labels"][-1] == f"grid peak at {cfg.grid_peaks // 2}/{cfg.grid_peaks}, {cfg.grid_peaks // 2}/{cfg.grid_peaks}"


def test_little_detail_reads_the_ring_means_only():
    from facespectra.runtime.spectrum import FeatureConfig

    cfg = FeatureConfig(angular="axes", ring_std=True, grid_peaks=8)
    mask = cfg.profile_mask()
    assert mask.shape == (cfg.n_features,) and mask.sum() == 126 and not mask[126:].any()


def test_lossy_webp_is_told_from_lossless_webp_and_other_formats():
    img = texture(256, seed=3)
    assert lossy_codec(encode(img, "WEBP", quality=90)) == "webp"
    assert lossy_codec(encode(img, "WEBP", quality=90, exif=b"Exif\x00\x00")) == "webp"  # VP8X first
    assert lossy_codec(encode(img, "WEBP", lossless=True)) is None
    for fmt in ("JPEG", "PNG", "GIF"):
        assert lossy_codec(encode(img, fmt)) is None
    assert lossy_codec(b"RIFF\x10\x00\x00\x00WEBPVP8X\xff\xff\xff\xff") is None  # truncated: no image chunk
