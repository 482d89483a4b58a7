"""scripts/synthetic_recall.py: fakes made only from the weights' own held-out real photos, and counted right."""

import numpy as np

from conftest import encode, small_model, texture
from facespectra.runtime import decode, verdict
from facespectra.train.augment import png_bytes
from facespectra.runtime.spectrum import extract
from facespectra.train.upsamplers import synthesise
from facespectra.train.train import split_items
from scripts import synthetic_recall


def _folder(tmp_path, n_real=6, n_fake=4):
    for label, n in (("real", n_real), ("fake", n_fake)):
        (tmp_path / label).mkdir()
        for i in range(n):
            (tmp_path / label / f"{i}.png").write_bytes(encode(texture(96, seed=10 * i + len(label)), "PNG"))
    return tmp_path


def test_only_the_held_out_real_photos_of_the_weights_split_are_used(tmp_path):
    data = _folder(tmp_path)
    model = small_model()
    model.provenance = {"split": {"test_fraction": 0.5, "seed": 3}}
    paths = synthetic_recall.held_out_reals(data, model)
    test = split_items(np.array([0] * 6 + [1] * 4), 0.5, 3)  # discover lists reals first, sorted
    assert [p.name for p in paths] == [f"{i}.png" for i in range(6) if test[i]]
    assert all(p.parent.name == "real" for p in paths) and len(paths) == 3


def _rule(t_fake, t_real):
    """The same thresholds in every regime, no distance limit: the test decides every verdict."""
    return {"max_distance": 1e9, "regimes": {name: {"platt": [1.0, 0.0], "t_fake": t_fake, "t_real": t_real}
                                             for name in verdict.REGIMES}}


def test_recall_counts_generated_and_real_verdicts(tmp_path):
    paths = sorted(_folder(tmp_path, n_real=3, n_fake=0).glob("real/*.png"))
    model = small_model()
    model.verdict_rule = _rule(0.0, None)  # every probability reaches it: all called generated
    assert synthetic_recall.recall(paths, model, "nearest", (0, 85)) == {0: (1.0, 0.0), 85: (1.0, 0.0)}
    model.verdict_rule = _rule(None, 1.0)  # all called real
    assert synthetic_recall.recall(paths, model, "nearest", (0,), stages=2) == {0: (0.0, 1.0)}
    model.verdict_rule = _rule(None, None)  # none judged
    assert synthetic_recall.recall(paths, model, "nearest", (0,)) == {0: (0.0, 0.0)}


def test_recall_counts_each_photo_by_the_models_rule(tmp_path):
    paths = sorted(_folder(tmp_path, n_real=4, n_fake=0).glob("real/*.png"))
    model = small_model()
    probs = sorted(model.predict_proba(extract(png_bytes(synthesise(decode.load(p.read_bytes(), gray="mean"), "bilinear",
                                                                       synthetic_recall.SEED + i, stages=2)),
                                               model.config))[0, 1] for i, p in enumerate(paths))
    model.verdict_rule = _rule((probs[0] + probs[1]) / 2, None)  # between the lowest two: three of four
    assert synthetic_recall.recall(paths, model, "bilinear", (0,), stages=2) == {0: (0.75, 0.0)}
