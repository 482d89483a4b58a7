"""Fit the three-verdict rule (runtime/verdict.py) on out-of-fold predictions.

Per input regime: a Platt calibration of the model's log-odds (class-balanced, so p_fake reads as if
real and generated faces were equally likely), then the lowest p_fake above which calling an image
generated stays within a target share of the real photos in every condition, and the highest p_fake
below which calling it real stays within it of the generated ones. The target itself is chosen by
cross-validation over the folds of those predictions (choose_target): the largest of TARGETS whose rule,
fitted without a fold and applied to it, keeps confident errors within PROMISE for each class in every
condition; thresholds fitted right at the promise overshoot it on new images. A regime the data cannot judge (too few
images of either class) gets no thresholds: it always answers "can't tell"; nor does a side whose
threshold would answer fewer than MIN_PER_CLASS images rightly. The distance limit is the
DISTANCE_QUANTILE of the out-of-fold photos' distances (in every condition, but not the synthetic fakes,
which are made to differ), so only inputs unlike nearly all of them are refused as "unlike the training
photos".
"""

import numpy as np

from ..runtime.verdict import REGIMES, decide, regime, sigmoid
from .evaluate import verdict_metrics

PROMISE = 0.01  # at most 1% confident errors per class in every condition
TARGETS = (0.01, 0.0075, 0.005, 0.0025, 0.0)  # fitted error shares tried, most coverage first
MIN_PER_CLASS = 20  # fewer images of a class in a regime and condition say nothing about its error rate
DISTANCE_QUANTILE = 0.995
SYNTHETIC = "synthetic"  # the rows of the validation photos' synthetic fakes (search.cv_score): fakes only


def platt(logits, y, l2=1e-3, iters=100):
    """(a, b) with p = sigmoid(a * logit + b): Newton's method with step halving on the class-balanced
    log-loss (a small pull of a towards 1 keeps separable data finite)."""
    z, y = np.asarray(logits, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))

    def loss(a, b):
        t = a * z + b
        return float(w @ (np.logaddexp(0, t) - y * t) + 0.5 * l2 * (a - 1) ** 2)

    a, b = 1.0, 0.0
    for _ in range(iters):
        p = sigmoid(a * z + b)
        r, s = w * (p - y), w * p * (1 - p)
        grad = np.array([r @ z + l2 * (a - 1), r.sum()])
        hess = np.array([[s @ (z * z) + l2, s @ z], [s @ z, s.sum() + 1e-12]])
        step = np.linalg.solve(hess, grad)
        before, scale = loss(a, b), 1.0
        while scale > 1e-6 and loss(a - scale * step[0], b - scale * step[1]) > before:
            scale /= 2
        a, b = a - scale * step[0], b - scale * step[1]
        if np.abs(scale * step).max() < 1e-10:
            break
    return float(a), float(b)


def _threshold(p, wrong_groups, right, bad_side, target):
    """The threshold nearest the safe end that keeps, in every condition, the wrong class's share beyond it
    within target, and answers at least MIN_PER_CLASS images of the right class (fewer are no evidence).
    bad_side "fake": t_fake (reals with p >= t are errors); "real": t_real (fakes with p <= t)."""
    candidates = np.unique(np.r_[p, 0.0, 1.0])
    ok = np.ones(len(candidates), dtype=bool)
    for wrong in wrong_groups:  # p of the wrong class in one condition
        allowed = int(np.floor(target * len(wrong)))
        ok &= _beyond(wrong, candidates, bad_side) <= allowed
    ok &= _beyond(right, candidates, bad_side) >= MIN_PER_CLASS
    if not ok.any():
        return None
    return float(candidates[ok].min() if bad_side == "fake" else candidates[ok].max())


def _beyond(values, candidates, side):
    """How many values each candidate threshold would answer: >= t for "fake", <= t for "real"."""
    values = np.sort(values)
    if side == "fake":
        return len(values) - np.searchsorted(values, candidates, side="left")
    return np.searchsorted(values, candidates, side="right")


def fit_rule(rows, target):
    """rows: {condition: {"y", "logit", "side", "quality", "distance", ...: arrays}} -> the rule for the weights."""
    names = list(rows)
    cat = {k: np.concatenate([rows[n][k] for n in names]) for k in ("y", "logit", "side", "quality", "distance")}
    cond = np.concatenate([[n] * len(rows[n]["y"]) for n in names])
    reg = np.array([regime(int(s), int(q) or None) for s, q in zip(cat["side"], cat["quality"])])
    photos = np.concatenate([rows[n]["distance"] for n in names if n != SYNTHETIC])
    rule = {"regimes": {}, "max_distance": float(np.quantile(photos, DISTANCE_QUANTILE)),
            "target": target, "min_per_class": MIN_PER_CLASS}
    for name in REGIMES:
        m = reg == name
        y, z = cat["y"][m], cat["logit"][m]
        if min((y == 0).sum(), (y == 1).sum()) < MIN_PER_CLASS:
            rule["regimes"][name] = {"platt": [1.0, 0.0], "t_fake": None, "t_real": None, "n": [int((y == 0).sum()), int((y == 1).sum())]}
            continue
        a, b = platt(z, y)
        p = sigmoid(a * z + b)
        reals, fakes = [], []
        for c in names:
            mc = cond[m] == c
            for cls, groups in ((0, reals), (1, fakes)):
                sel = mc & (y == cls)
                if sel.sum() >= MIN_PER_CLASS:
                    groups.append(p[sel])
        rule["regimes"][name] = {"platt": [a, b],
                                 "t_fake": _threshold(p, reals, p[y == 1], "fake", target) if reals and fakes else None,
                                 "t_real": _threshold(p, fakes, p[y == 0], "real", target) if reals and fakes else None,
                                 "n": [int((y == 0).sum()), int((y == 1).sum())]}
    return rule


def _verdicts(rule, r):
    return np.array([decide(z, int(s), int(q) or None, d, rule)[0]
                     for z, s, q, d in zip(r["logit"], r["side"], r["quality"], r["distance"])])


def _subset(rows, keep):
    return {name: {k: v[keep(r)] for k, v in r.items()} for name, r in rows.items()}


def cross_validated_metrics(rows, target):
    """Each fold's rows judged by the rule fitted on the other folds' rows -> {condition: metrics}."""
    folds = np.unique(np.concatenate([r["fold"] for r in rows.values()]))
    verdicts = {name: np.empty(len(r["y"]), dtype=object) for name, r in rows.items()}
    for f in folds:
        rule = fit_rule(_subset(rows, lambda r: r["fold"] != f), target)
        for name, held in _subset(rows, lambda r: r["fold"] == f).items():
            verdicts[name][rows[name]["fold"] == f] = _verdicts(rule, held)
    return {name: verdict_metrics(r["y"], verdicts[name]) for name, r in rows.items()}


def choose_target(rows):
    """-> (target, its cross-validated metrics): the largest of TARGETS keeping PROMISE everywhere."""
    for target in TARGETS:
        metrics = cross_validated_metrics(rows, target)
        worst = max(max(m["confident_error_real"], m["confident_error_fake"]) for m in metrics.values())
        if worst <= PROMISE:
            return target, metrics
    return target, metrics
