"""The rule over both detectors: fitted out of fold on the spectral model's and the CNN's log-odds, neither
detector alone can give a "real" the other leans against, a regime the spectral model cannot read can be
decided by the CNN, and the weights carry the head and the rule (a round trip that refuses hostile values)."""

import copy
import json
import math

import numpy as np
import pytest

from conftest import small_model
from facespectra.runtime import cnn, effnet, verdict
from facespectra.runtime.errors import WeightsError
from facespectra.runtime.model import SpectralModel
from facespectra.train import rule as rulefit
from test_verdict import rows_of


def both(real, fake, cnn_real, cnn_fake, **kw):
    rows = rows_of(real, fake, **kw)
    rows["cnn_logit"] = np.r_[cnn_real, cnn_fake]
    return rows


@pytest.fixture(scope="module")
def fitted():
    """Full size: the spectral model separates; 512 px: only the CNN does (the spectral traces are gone)."""
    rng = np.random.default_rng(1)
    rows = {
        "as_distributed": both(rng.normal(-3, 1, 400), rng.normal(3, 1, 200),
                               rng.normal(-2, 1, 400), rng.normal(2, 1, 200)),
        "px512": both(rng.normal(0, 1, 400), rng.normal(0, 1, 200),
                      rng.normal(-3, 1, 400), rng.normal(3, 1, 200), side=512, quality=85),
    }
    setting, withheld, metrics = rulefit.choose_rule(rows, inputs=2)
    return rulefit.fit_rule(rows, setting, withheld, inputs=2), rows, metrics


def test_platt_over_two_detectors_weighs_the_one_that_separates():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    informative = np.where(y == 1, 2.0, -2.0) + rng.normal(0, 1, len(y))
    noise = rng.normal(0, 1, len(y))
    a_noise, a_informative, _ = rulefit.platt(np.c_[noise, informative], y)
    assert abs(a_noise) < 0.1 < a_informative


def test_the_cnn_decides_where_the_spectral_model_cannot_and_the_promise_holds(fitted):
    rule, _, metrics = fitted
    reduced = rule["regimes"]["reduced"]
    assert len(reduced["platt"]) == 3 and reduced["t_fake"] is not None and reduced["t_real"] is not None
    for name, m in metrics.items():
        assert rulefit.keeps_promise(m["real_called_fake"], m["n_real"]), name
        assert rulefit.keeps_promise(m["fake_called_real"], m["n_fake"]), name
    assert metrics["px512"]["coverage_fake"] > 0.3 and metrics["px512"]["coverage_real"] > 0.3
    verdict.validate(rule, inputs=2)


def test_neither_detector_alone_gives_a_real_the_other_leans_against(fitted):
    rule, _, _ = fitted
    full = rule["regimes"]["full"]
    (a1, b1), (a2, b2) = full["own"]
    strongly_real = -8.0
    cnn_leans_fake = (0.5 - b2) / a2  # the CNN's own p_fake just above 0.5
    decided = verdict.decide(strongly_real, 1024, None, 1.0, rule, cnn_logit=cnn_leans_fake)
    assert decided[0] == "uncertain" and decided[2] == verdict.REASONS["disagree"]
    assert verdict.decide(strongly_real, 1024, None, 1.0, rule, cnn_logit=-8.0)[0] == "real"
    spectral_leans_fake = (0.5 - b1) / a1
    assert verdict.decide(spectral_leans_fake, 1024, None, 1.0, rule, cnn_logit=-8.0)[0] != "real"


def test_a_two_detector_rule_without_the_cnn_opinion_never_decides(fitted):
    rule, _, _ = fitted
    for z in (None, math.nan, math.inf):
        assert verdict.decide(6.0, 1024, None, 1.0, rule, cnn_logit=z) == ("uncertain", None, verdict.NO_NUMBER)


def head_dict(rule):
    n = effnet.N_FEATURES
    return {"network": {"wheel_sha256": "0" * 64, "format": 2, "window": effnet.SIZE, "stages": list(effnet.STAGES),
                        "spread": effnet.SPREAD},
            "scaler": {"mean": [0.0] * n, "scale": [1.0] * n}, "coef": [0.001] * n, "intercept": -0.5,
            "verdict_rule": copy.deepcopy(rule)}


def with_head(rule):
    model = small_model()
    spectral_rule = copy.deepcopy(rule)
    for part in spectral_rule["regimes"].values():
        part["platt"] = [1.0, 0.0]
        part.pop("own")
    model.verdict_rule = spectral_rule
    return {**model.to_dict(), "cnn": head_dict(rule)}


def test_weights_carry_the_head_and_its_rule(fitted):
    rule, _, _ = fitted
    d = json.loads(json.dumps(with_head(rule)))
    model = SpectralModel.from_dict(d)
    assert model.cnn.verdict_rule == rule and model.cnn.logit(np.ones(effnet.N_FEATURES)) == pytest.approx(
        0.001 * effnet.N_FEATURES - 0.5)
    assert SpectralModel.from_dict(json.loads(json.dumps(model.to_dict()))).to_dict() == model.to_dict()


@pytest.mark.parametrize("change, field", [
    (lambda h: h["coef"].__setitem__(3, float("nan")), "cnn.coef[3]"),
    (lambda h: h["coef"].pop(), "cnn.coef"),
    (lambda h: h["scaler"]["scale"].__setitem__(0, 0.0), "cnn.scale[0]"),
    (lambda h: h.__setitem__("intercept", True), "cnn.intercept"),
    (lambda h: h["network"].__setitem__("stages", [8]), "cnn.network"),
    (lambda h: h["verdict_rule"]["regimes"]["full"].__setitem__("platt", [1.0, 0.0]), "platt must be 3"),
    (lambda h: h["verdict_rule"]["regimes"]["full"].pop("own"), "own must be 2"),
    (lambda h: h["verdict_rule"]["regimes"]["full"]["own"][1].__setitem__(0, float("inf")), "own must be 2"),
])
def test_hostile_cnn_weights_are_refused_by_field(fitted, change, field):
    d = with_head(fitted[0])
    change(d["cnn"])
    with pytest.raises(WeightsError, match=field.replace("[", r"\[").replace("]", r"\]")):
        SpectralModel.from_dict(json.loads(json.dumps(d)))


def test_a_head_fitted_on_another_network_is_refused(fitted):
    if not effnet.available():
        pytest.skip("effnet.npz not converted (make setup)")
    head = cnn.CnnHead.from_dict(head_dict(fitted[0]))  # wheel_sha256 of zeros: not the network here
    from PIL import Image
    with pytest.raises(WeightsError, match="another network"):
        cnn.opinion(Image.new("L", (256, 256), 128), head)


def test_a_trace_only_the_spectral_model_sees_still_counts():
    """The pair's calibration leans on the CNN; a fake whose up-sampling only the spectral model sees is still
    called generated by that model's own reading, and no reading lets the other one's doubt pass as real."""
    part = {"platt": [0.1, 1.0, 0.0], "own": [[1.0, 0.0], [1.0, 0.0]], "t_fake": 0.99, "t_real": 0.05}
    rule = {"regimes": {name: part for name in verdict.REGIMES}, "max_distance": 10.0}
    assert verdict.sigmoid(0.1 * 6.0 - 1.0) < part["t_fake"]  # the pair alone would not decide
    assert verdict.decide(6.0, 1024, None, 1.0, rule, cnn_logit=-1.0)[0] == "fake"
    assert verdict.decide(-1.0, 1024, None, 1.0, rule, cnn_logit=6.0)[0] == "fake"
    assert verdict.decide(-6.0, 1024, None, 1.0, rule, cnn_logit=-6.0)[0] == "real"


def test_the_rule_is_calibrated_on_the_seed_generator_not_on_synthetic_fakes():
    """Downscaled synthetic fakes look like real photos to both detectors: counted in the calibration they
    would flatten it. It is fitted on real photos and the seed generator's fakes alone, so the CNN's evidence
    at 512 px decides, and the synthetic fakes still keep every "real" away."""
    rng = np.random.default_rng(3)
    lookalike = both(np.array([]), rng.normal(0, 1, 600), np.array([]), rng.normal(-3, 1, 600), side=512, quality=85)
    lookalike["synthetic"] = np.ones(600, dtype=bool)
    rows = {
        "as_distributed": both(rng.normal(-3, 1, 400), rng.normal(3, 1, 200),
                               rng.normal(-2, 1, 400), rng.normal(2, 1, 200)),
        "px512": both(rng.normal(0, 1, 400), rng.normal(0, 1, 200),
                      rng.normal(-3, 1, 400), rng.normal(3, 1, 200), side=512, quality=85),
        "synthetic_downscaled": lookalike,
    }
    setting, withheld, metrics = rulefit.choose_rule(rows, inputs=2)
    reduced = rulefit.fit_rule(rows, setting, withheld, inputs=2)["regimes"]["reduced"]
    px512 = rows["px512"]
    assert reduced["platt"] == pytest.approx(list(rulefit.platt(np.c_[px512["logit"], px512["cnn_logit"]], px512["y"])))
    assert reduced["t_fake"] is not None
    assert metrics["px512"]["coverage_fake"] > 0.3 and metrics["px512"]["real_called_fake"] == 0
    assert metrics["synthetic_downscaled"]["fake_called_real"] == 0 and reduced["t_real"] is None
