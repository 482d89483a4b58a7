"""The weights file: load, validate, and run the logistic model it describes.

Pure numpy + standard library, so the page runs this very module in Pyodide.
Every refusal names the field and the problem ("coef has 60 values, the feature
config gives 62"), because a half-valid model would give confident nonsense.
"""

import json

import numpy as np

from . import verdict
from .cnn import CnnHead
from .verdict import sigmoid
from .errors import WeightsError
from .fields import number, vector
from .spectrum import FeatureConfig

FORMAT = "facespectra-weights"
VERSION = 1
CLASSES = ("real", "fake")


class SpectralModel:
    """Standardise -> linear -> sigmoid. `predict_proba` follows scikit-learn: columns (real, fake)."""

    def __init__(self, config, mean, scale, coef, intercept, threshold=0.5, *,
                 metrics=None, provenance=None, reference=None, verdict_rule=None, cnn=None):
        self.config = config
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)
        self.threshold = float(threshold)
        self.metrics = metrics or {}
        self.provenance = provenance or {}
        self.reference = reference or {}
        self.verdict_rule = verdict_rule  # see verdict.py; None: uncertain within a band of the threshold
        self.cnn = cnn  # the second detector's head and its rule over both (cnn.CnnHead), or None

    classes_ = CLASSES

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, dict):
            raise WeightsError("weights: the file must hold a JSON object")
        if d.get("format") != FORMAT:
            raise WeightsError(f"weights: format is {d.get('format')!r}, expected {FORMAT!r}")
        if d.get("version") != VERSION:
            raise WeightsError(f"weights: version {d.get('version')!r} is not supported (this code reads version {VERSION})")
        if d.get("classes") != list(CLASSES):
            raise WeightsError(f"weights: classes must be {list(CLASSES)}, found {d.get('classes')!r}")
        try:
            config = FeatureConfig.from_dict(d.get("feature_config") or {})
        except (TypeError, ValueError) as exc:
            raise WeightsError(f"weights: feature_config is invalid: {exc}") from None
        n = config.n_features
        scaler = d.get("scaler")
        if not isinstance(scaler, dict):
            raise WeightsError("weights: scaler must be an object with 'mean' and 'scale'")
        mean = vector(scaler, "mean", n)
        scale = vector(scaler, "scale", n, positive=True)
        coef = vector(d, "coef", n)
        reference = d.get("reference") or {}
        for key in ("mean_real", "mean_fake", "std_real", "std_fake"):
            if key in reference:
                vector(reference, key, n)
        rule = d.get("verdict_rule")
        if rule is not None:
            try:
                verdict.validate(rule)
            except ValueError as exc:
                raise WeightsError(f"weights: {exc}") from None
        head = None
        if d.get("cnn") is not None:
            if rule is None:
                raise WeightsError("weights: cnn needs a verdict_rule: the spectral model's own rule decides until "
                                   "the network is there")
            head = CnnHead.from_dict(d["cnn"])
        return cls(config, mean, scale, coef, number(d, "intercept"), number(d, "threshold", 0.0, 1.0),
                   metrics=d.get("metrics") or {}, provenance=d.get("provenance") or {}, reference=reference,
                   verdict_rule=rule, cnn=head)

    @classmethod
    def loads(cls, text):
        try:
            d = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WeightsError(f"weights: not valid JSON ({exc})") from None
        return cls.from_dict(d)

    @classmethod
    def load(cls, path):
        with open(path, "rb") as fh:
            return cls.loads(fh.read())

    def to_dict(self):
        return {
            "format": FORMAT,
            "version": VERSION,
            "classes": list(CLASSES),
            "feature_config": self.config.to_dict(),
            "scaler": {"mean": self.mean.tolist(), "scale": self.scale.tolist()},
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "threshold": self.threshold,
            **({"verdict_rule": self.verdict_rule} if self.verdict_rule is not None else {}),
            **({"cnn": self.cnn.to_dict()} if self.cnn is not None else {}),
            "reference": self.reference,
            "metrics": self.metrics,
            "provenance": self.provenance,
        }

    def standardise(self, X):
        return (np.atleast_2d(np.asarray(X, dtype=np.float64)) - self.mean) / self.scale

    def decision_function(self, X):
        return self.standardise(X) @ self.coef + self.intercept

    def predict_proba(self, X):
        p = sigmoid(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return np.where(self.predict_proba(X)[:, 1] >= self.threshold, CLASSES[1], CLASSES[0])
