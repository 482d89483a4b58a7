"""No confident verdict from an edge case: non-finite numbers, hostile weights files, models without a
fitted rule outside the "full" regime, pictures without a face, and rows that carry one answer."""

import json
import math
import re

import numpy as np
import pytest

from conftest import encode, small_model, texture, write_model
from facespectra import cli
from facespectra.api import Detector
from facespectra.runtime import facecheck, verdict
from facespectra.runtime.classify import classify_bytes, judge
from facespectra.runtime.errors import WeightsError
from facespectra.runtime.model import SpectralModel


def a_rule():
    """A rule that answers at full size: fake from 0.9, real up to 0.1."""
    part = {"platt": [1.0, 0.0], "t_fake": 0.9, "t_real": 0.1}
    return {"regimes": {name: dict(part) for name in verdict.REGIMES}, "max_distance": 5.0}


@pytest.mark.parametrize("logit, dist", [(math.nan, 1.0), (math.inf, 1.0), (-math.inf, 1.0), (-6.0, math.nan),
                                         (6.0, math.nan), (-6.0, math.inf)])
def test_a_non_finite_logit_or_distance_never_decides(logit, dist):
    assert verdict.decide(logit, 1024, 95, dist, a_rule()) == ("uncertain", None, verdict.NO_NUMBER)


def test_a_calibration_that_overflows_never_decides():
    rule = a_rule()
    rule["regimes"]["full"]["platt"] = [1e308, 0.0]
    assert verdict.decide(1e10, 1024, 95, 1.0, rule) == ("uncertain", None, verdict.NO_NUMBER)


@pytest.mark.parametrize("p", [math.nan, math.inf, -math.inf])
def test_the_band_never_decides_on_a_non_finite_probability(p):
    assert verdict.decide_band(p, 0.5) == ("uncertain", None, verdict.NO_NUMBER)


def nan_model(rule=None):
    """A model whose logit is NaN for any image (one coefficient is NaN; weights files refuse that, but a
    model built in code, or a future bug, must still not turn NaN into a verdict)."""
    model = small_model()
    model.coef[3] = math.nan
    model.verdict_rule = rule
    return model


@pytest.mark.parametrize("rule", [None, a_rule()])
def test_judge_and_rows_carry_no_nan(rule):
    model = nan_model(rule)
    feats = np.full((1, model.config.n_features), 40.0)
    assert judge(feats, 1024, 95, model) == ("uncertain", None, verdict.NO_NUMBER, "full")
    row = classify_bytes(encode(texture(1024, seed=3), "PNG"), model)
    assert row["verdict"] == "uncertain" and row["p_fake"] is None
    assert "NaN" not in json.dumps(row) and "Infinity" not in json.dumps(row)  # the page's JSON.parse fails on them


def hostile(edit):
    d = small_model().to_dict()
    d["verdict_rule"] = a_rule()
    edit(d)
    return d


def _set(path, value):
    def edit(d):
        *parents, last = path
        for key in parents:
            d = d[key]
        d[last] = value
    return edit


HOSTILE = [  # (what the file holds, the field the message must name)
    (_set(["verdict_rule", "regimes", "full", "platt"], [math.nan, 0.0]), "verdict_rule.regimes.full.platt"),
    (_set(["verdict_rule", "regimes", "reduced", "platt"], [1.0, math.inf]), "verdict_rule.regimes.reduced.platt"),
    (_set(["verdict_rule", "regimes", "full", "platt"], [True, 0.0]), "verdict_rule.regimes.full.platt"),
    (_set(["verdict_rule", "max_distance"], math.inf), "verdict_rule.max_distance"),
    (_set(["verdict_rule", "max_distance"], True), "verdict_rule.max_distance"),
    (_set(["verdict_rule", "regimes", "full", "t_fake"], True), "verdict_rule.regimes.full.t_fake"),
    (_set(["verdict_rule", "regimes", "full", "t_real"], math.nan), "verdict_rule.regimes.full.t_real"),
    (_set(["verdict_rule", "near_full_side"], 100), "verdict_rule.near_full_side"),
    (_set(["verdict_rule", "near_full_side"], "707"), "verdict_rule.near_full_side"),
    (_set(["verdict_rule", "near_full_side"], 2000), "verdict_rule.near_full_side"),
    (_set(["verdict_rule", "graphics_threshold"], "0.01"), "verdict_rule.graphics_threshold"),
    (_set(["verdict_rule", "graphics_threshold"], math.nan), "verdict_rule.graphics_threshold"),
    (_set(["scaler", "scale", 3], 1e-310), r"scale\[3\]"),
    (_set(["scaler", "mean", 1], True), r"mean\[1\]"),
    (_set(["coef", 0], False), r"coef\[0\]"),
    (_set(["coef", 2], "0.5"), r"coef\[2\]"),
    (_set(["threshold"], True), "threshold"),
    (_set(["intercept"], math.nan), "intercept"),
    (_set(["feature_config", "resize"], 100_000), "resize"),
    (_set(["feature_config", "max_side"], 100_000), "max_side"),
    (_set(["feature_config", "log_scale"], True), "log_scale"),
    (_set(["feature_config", "drop_first"], 7), "drop_first"),
]


@pytest.mark.parametrize("edit, field", HOSTILE)
def test_hostile_weights_are_refused_naming_the_field(edit, field):
    with pytest.raises(WeightsError, match=field):
        SpectralModel.loads(json.dumps(hostile(edit)))  # json.dumps writes NaN and Infinity, as a hostile file may


def test_every_legit_feature_config_passes_the_bounds():
    from facespectra.api import SHIPPED_WEIGHTS
    from facespectra.runtime.spectrum import SEED, FeatureConfig
    from facespectra.train.search import CANDIDATES

    for cfg in (SEED, *CANDIDATES.values()):
        assert FeatureConfig.from_dict(cfg.to_dict()) == cfg
    FeatureConfig.from_dict(json.loads(SHIPPED_WEIGHTS.read_text())["feature_config"])


@pytest.mark.parametrize("edit, field", [HOSTILE[0], HOSTILE[7], HOSTILE[13]])
def test_cli_and_api_refuse_hostile_weights_naming_the_field(tmp_path, capsys, edit, field, jpeg_bytes):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(hostile(edit)))
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes)
    assert cli.main(["predict", "--weights", str(bad), str(tmp_path / "a.jpg")]) == 2
    assert re.search(field, capsys.readouterr().err)
    with pytest.raises(WeightsError, match=field):
        Detector.load(bad)


def test_a_model_without_a_rule_withholds_outside_the_full_regime():
    """A taught model's band would call a thumbnail; the regimes withhold it with their reason."""
    model = small_model()
    z = np.full((1, model.config.n_features), 40.0)
    p = float(model.predict_proba(z)[0, 1])
    model.threshold = 0.0 if p > 0.5 else 1.0  # far from the threshold: the band alone would decide
    assert judge(z, 1024, 95, model)[0] in ("real", "fake")
    for side, quality, codec, name in ((128, 90, None, "small"), (600, 90, None, "reduced"), (1024, 30, None, "heavy"),
                                       (1024, None, "webp", "webp")):
        reason = verdict.REASONS[name].format(side=side, quality=quality)
        assert judge(z, side, quality, model, codec) == ("uncertain", p, reason, name)


@pytest.mark.parametrize("side, quality", [(300, 90), (1024, 30), (1024, 95)])
def test_no_face_found_wins_over_other_reasons(side, quality):
    model = small_model()
    model.verdict_rule = {**a_rule(), "max_distance": 1e9}  # under 1000 px or at q30 the rule has a reason of its own
    row = classify_bytes(encode(texture(side, seed=2), "JPEG", quality=quality), model)
    assert row["faces"] == [] and (row["verdict"], row["reason"]) == ("uncertain", facecheck.NO_FACE)


def test_a_row_carries_one_answer(tmp_path):
    """The label says what the verdict says, in rows and in the CSV, also where the model's raw side of its
    threshold would have said "real" or "fake"."""
    import csv

    (tmp_path / "wall.jpg").write_bytes(encode(texture(1024, seed=2), "JPEG", quality=95))
    row = classify_bytes((tmp_path / "wall.jpg").read_bytes(), small_model())
    assert row["verdict"] == "uncertain" and row["label"] == "uncertain"
    out = tmp_path / "out.csv"
    write_model(tmp_path / "model.json")
    assert cli.main(["predict", "--weights", str(tmp_path / "model.json"), str(tmp_path / "wall.jpg"),
                     "--csv", str(out)]) == 0
    (cells,) = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert cells["label"] == cells["verdict"] == "uncertain"
