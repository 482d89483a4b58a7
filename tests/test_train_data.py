"""Layout discovery, feature cache, and the train -> weights -> evaluate round trip on tiny images."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from facespectra.train import featuretable
from facespectra.train.augment import AugmentPlan, Variant
from facespectra.cli import main
from facespectra.train.dataset import DatasetError, discover
from facespectra.train.featcache import FeatureCache
from facespectra.runtime.model import SpectralModel
from facespectra.runtime.spectrum import FeatureConfig


def _write(folder, n, fake, start=0):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        rng = np.random.default_rng(i + 1000 * fake)
        small = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
        arr = np.asarray(Image.fromarray(small, "RGB").resize((96, 96), Image.BICUBIC), dtype=float)
        if fake:  # a checkerboard: the up-sampling trace a spectral model can see
            arr += 12.0 * ((np.indices((96, 96)).sum(axis=0) % 2) * 2 - 1)[:, :, None]
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB").save(folder / f"{i}.jpg", quality=90)


def test_real_fake_folders_any_case(tmp_path):
    _write(tmp_path / "Real", 3, False)
    _write(tmp_path / "sub" / "FAKE", 2, True)
    items = discover([tmp_path])
    assert [it.label for it in items] == [0, 0, 0, 1, 1]


def test_kaggle_layout(tmp_path):
    root = tmp_path / "real_and_fake_face"
    _write(root / "training_real", 2, False)
    _write(root / "training_fake", 2, True)
    assert sorted(it.label for it in discover([tmp_path])) == [0, 0, 1, 1]


def test_explicit_class_folders(tmp_path):
    _write(tmp_path / "a", 2, False)
    _write(tmp_path / "b", 3, True)
    items = discover(real=[tmp_path / "a"], fake=[tmp_path / "b"])
    assert [it.label for it in items] == [0, 0, 1, 1, 1]


def test_missing_and_empty_class_are_clear_errors(tmp_path):
    _write(tmp_path / "real", 2, False)
    with pytest.raises(DatasetError, match="no fake images"):
        discover([tmp_path])
    (tmp_path / "fake").mkdir()
    with pytest.raises(DatasetError, match="fake class is empty"):
        discover([tmp_path])


def test_strong_imbalance_warns(tmp_path):
    _write(tmp_path / "real", 9, False)
    _write(tmp_path / "fake", 2, True)
    with pytest.warns(UserWarning, match="imbalance"):
        discover([tmp_path])


def test_second_run_hits_the_cache(tmp_path, monkeypatch):
    _write(tmp_path / "real", 2, False)
    _write(tmp_path / "fake", 2, True)
    (tmp_path / "real" / "broken.jpg").write_bytes(b"not an image")
    items = discover([tmp_path])
    calls = []
    real_extract = featuretable.extract_with_image
    monkeypatch.setattr(featuretable, "extract_with_image", lambda *a: [real_extract(*a), calls.append(1)][0])  # successes
    plan = AugmentPlan(n_jpeg=2, n_resized=1, seed=1)
    configs = {"c": FeatureConfig()}
    cache = FeatureCache(tmp_path / "cache")
    first = featuretable.build(items, lambda i, h, y: plan.variants(h, y), configs, jobs=1, cache=cache)
    assert len(calls) == 4 * 4 and [p for p, _ in first.skipped] == [str(tmp_path / "real" / "broken.jpg")]
    second = featuretable.build(items, lambda i, h, y: plan.variants(h, y), configs, jobs=1, cache=cache)
    assert len(calls) == 16  # nothing extracted again
    np.testing.assert_array_equal(first.X["c"], second.X["c"])
    # a different variant is a miss
    featuretable.build(items, lambda i, h, y: [Variant(quality=50)], configs, jobs=1, cache=cache)
    assert len(calls) == 20


def test_train_then_evaluate_round_trip(tmp_path, capsys):
    _write(tmp_path / "data" / "real", 8, False)
    _write(tmp_path / "data" / "fake", 8, True)
    weights, report = tmp_path / "w.json", tmp_path / "rep"
    common = ["--jobs", "1", "--cache", str(tmp_path / "cache")]
    assert main(["train", str(tmp_path / "data"), "--out", str(weights), "--report", str(report), "--config", "radial64",
                 "--folds", "2", "--jpeg-variants", "1", "--resized-variants", "1", "--synthetic", "0", *common]) == 0
    model = SpectralModel.load(weights)
    assert set(model.metrics["held_out"]) >= {"as_distributed", "jpeg_q75", "web", "small"}
    assert len(model.reference["mean_fake"]) == model.config.n_features
    chosen = model.provenance["threshold"]
    assert chosen["source"] == "cross-validation" and model.threshold == chosen["value"] == chosen["cv_choice"]
    # resume from those weights, with a fixed threshold
    assert main(["train", str(tmp_path / "data"), "--out", str(tmp_path / "w2.json"), "--init", str(weights),
                 "--no-search", "--threshold", "0.3", "--jpeg-variants", "1", "--resized-variants", "0",
                 "--synthetic", "0", *common]) == 0
    resumed = SpectralModel.load(tmp_path / "w2.json")
    assert resumed.provenance["init"] == str(weights)
    assert resumed.threshold == 0.3 and resumed.provenance["threshold"] == {"value": 0.3, "source": "--threshold"}

    out = tmp_path / "eval"
    assert main(["evaluate", str(tmp_path / "data"), "--weights", str(weights), "--report", str(out), *common]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    conds = metrics["conditions"]
    assert {"as_distributed", "jpeg_q95", "jpeg_q85", "jpeg_q75", "jpeg_q65", "web", "small", "edit_crop",
            "edit_rotate", "edit_blur"} <= set(conds)
    for name in ("edit_synthetic", "synthetic_downscaled"):  # a synthetic fake of every image: fakes only
        synthetic = conds.pop(name)
        assert synthetic["n_real"] == 0 and synthetic["n_fake"] == 16
    assert all(0 <= c["balanced_accuracy"] <= 1 and c["n_real"] == 8 and c["n_fake"] == 8 for c in conds.values())
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 5
    assert not re.search(r"""(src|href)=["'](?!data:)""", page)  # nothing fetched from elsewhere


def test_results_are_written_readable_as_a_plain_open_would_make_them(tmp_path):
    """mkstemp makes 0600 files; weights written so would be copied into dist/ unreadable to a web server."""
    import os

    from facespectra.train.atomic import write_text_atomic

    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "model.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "model.json").stat().st_mode & 0o777 == 0o644
