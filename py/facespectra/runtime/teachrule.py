"""The Teach panel's own verdict rule, fitted on its out-of-fold predictions, as train/rule.py fits the
shipped one but with no data beyond a person's examples: numpy + standard library only (Pyodide).

Per input regime (verdict.REGIMES, read from each example's and each re-save's header), a threshold is
set only where the examples back it: "likely generated" from the lowest out-of-fold p_fake above every
real example's (and its re-saves'), "likely real" up to the highest below every generated one's, each
on the model's side of 0.5 and beyond which at least BACKING examples lie. So no example was confidently
wrong out of fold. A regime without such examples of both kinds gets no threshold: "can't tell" there.
The probabilities are the taught model's own (Platt [1, 0]); an image farther from the examples than
any example was out of fold is "unlike the photos it learnt from".
"""

import numpy as np

from .verdict import REGIMES

BACKING = 20  # examples beyond a threshold, as the trainer's rule asks of the shipped one
THRESHOLD = 0.5
IDENTITY = [1.0, 0.0]
WORDS = {  # the regimes as the Teach panel names them
    "full": "full size (1000 px or more on the shorter side)",
    "resampled": "resized or rotated after they were made",
    "smoothed": "blurred or smoothed (little fine detail)",
    "reduced": "under 1000 px on the shorter side",
    "small": "under 256 px",
    "heavy": "heavily compressed JPEG (quality under 50)",
    "webp": "lossy WebP",
}


def _fake_edge(p, y, image):
    """(lowest p_fake from which calling an image generated was never wrong, examples beyond it), or (None, 0)."""
    beyond = (y == 1) & (p > max(THRESHOLD, np.max(p[y == 0])))
    if not beyond.any():
        return None, 0
    return float(np.min(p[beyond])), len(set(image[beyond].tolist()))


def _real_edge(p, y, image):
    """(highest p_fake up to which calling an image real was never wrong, examples beyond it), or (None, 0)."""
    beyond = (y == 0) & (p < min(THRESHOLD, np.min(p[y == 1])))
    if not beyond.any():
        return None, 0
    return float(np.max(p[beyond])), len(set(image[beyond].tolist()))


def fit_rule(p, y, image, regimes, dist):
    """Out-of-fold p_fake, labels (0 real, 1 generated), example index and regime name per row, and
    out-of-fold distances -> (verdict_rule or None, what it says per regime).

    The summary gives, per regime with examples of both kinds, its thresholds (None where not backed)
    and the examples beyond each; the rule is None when no regime has a threshold."""
    p, y, image, regimes = (np.asarray(v) for v in (p, y, image, regimes))
    parts, summary = {}, {}
    for name in REGIMES:
        m = regimes == name
        part = {"platt": IDENTITY, "t_fake": None, "t_real": None}
        kinds = [len(set(image[m & (y == c)].tolist())) for c in (0, 1)]
        if min(kinds) > 0:
            t_fake, n_fake = _fake_edge(p[m], y[m], image[m])
            t_real, n_real = _real_edge(p[m], y[m], image[m])
            part["t_fake"] = t_fake if n_fake >= BACKING else None
            part["t_real"] = t_real if n_real >= BACKING else None
            summary[name] = {"words": WORDS[name], "t_fake": part["t_fake"], "t_real": part["t_real"],
                             "n_fake": n_fake, "n_real": n_real, "examples_real": kinds[0], "examples_fake": kinds[1]}
        parts[name] = part
    if all(part["t_fake"] is None and part["t_real"] is None for part in parts.values()):
        return None, summary
    return {"regimes": parts, "max_distance": float(np.max(dist)), "fitted": "teach", "min_backing": BACKING}, summary
