"""Weights files: a valid one round-trips and predicts; every broken field is refused by name."""

import json
import math

import numpy as np
import pytest

from facespectra.runtime.classify import classify_bytes
from facespectra.runtime.errors import WeightsError
from facespectra.runtime.model import SpectralModel, sigmoid
from facespectra.runtime.spectrum import FeatureConfig


def make_model(**overrides):
    cfg = FeatureConfig(bins=16)
    n = cfg.n_features
    rng = np.random.default_rng(0)
    model = SpectralModel(cfg, rng.normal(40, 5, n), rng.uniform(1, 3, n), rng.normal(0, 0.2, n), -0.3)
    d = model.to_dict()
    d.update(overrides)
    return d


def test_round_trip_and_probabilities():
    d = make_model()
    model = SpectralModel.loads(json.dumps(d))
    X = np.random.default_rng(1).normal(40, 5, (5, model.config.n_features))
    p = model.predict_proba(X)
    assert p.shape == (5, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    z = ((X - np.array(d["scaler"]["mean"])) / np.array(d["scaler"]["scale"])) @ np.array(d["coef"]) + d["intercept"]
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    assert list(model.predict(X)) == ["fake" if q >= 0.5 else "real" for q in p[:, 1]]


def test_threshold_round_trips_and_decides_the_label():
    d = make_model(threshold=0.7)
    model = SpectralModel.loads(json.dumps(SpectralModel.from_dict(d).to_dict()))
    assert model.threshold == 0.7
    X = np.random.default_rng(2).normal(40, 5, (50, model.config.n_features))
    p = model.predict_proba(X)[:, 1]
    assert list(model.predict(X)) == ["fake" if q >= 0.7 else "real" for q in p]
    assert np.any((p >= 0.5) & (p < 0.7))  # some rows are labelled differently than at 0.5


def test_sigmoid_is_stable_at_extremes():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(sigmoid([-1000.0, 0.0, 1000.0]), [0.0, 0.5, 1.0])


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"format": "something-else"}, "format is 'something-else'"),
        ({"version": 2}, "version 2 is not supported"),
        ({"coef": [0.0] * 3}, "coef has 3 values, but the feature config gives 15 features"),
        ({"intercept": math.inf}, "intercept must be a finite number"),
        ({"threshold": 1.5}, "threshold is 1.5"),
        ({"classes": ["fake", "real"]}, "classes must be"),
        ({"feature_config": {"bins": 2}}, "feature_config is invalid"),
    ],
)
def test_broken_weights_are_refused_with_the_field_named(overrides, message):
    with pytest.raises(WeightsError, match=message):
        SpectralModel.from_dict(make_model(**overrides))


def test_non_finite_and_non_positive_scaler_values_are_named():
    d = make_model()
    d["scaler"]["mean"][4] = float("nan")
    with pytest.raises(WeightsError, match=r"mean\[4\] is not a finite number"):
        SpectralModel.from_dict(d)
    d = make_model()
    d["scaler"]["scale"][2] = 0.0
    with pytest.raises(WeightsError, match=r"scale\[2\] must be greater than 0"):
        SpectralModel.from_dict(d)


def test_truncated_json_is_refused():
    text = json.dumps(make_model())
    with pytest.raises(WeightsError, match="not valid JSON"):
        SpectralModel.loads(text[: len(text) // 2])


def test_classify_bytes_returns_an_error_row_instead_of_raising(jpeg_bytes):
    model = SpectralModel.from_dict(make_model())
    good = classify_bytes(jpeg_bytes, model)
    assert good["label"] == good["verdict"] != "error" and 0 <= good["p_fake"] <= 1 and good["error"] is None
    bad = classify_bytes(b"%PDF-1.7 not an image", model)
    assert {k: bad[k] for k in ("label", "verdict", "p_fake", "reason", "features", "flags", "error")} == {
        "label": "error", "verdict": "error", "p_fake": None, "reason": None, "features": None, "flags": [],
        "error": "not an image: the file is a PDF document"}
