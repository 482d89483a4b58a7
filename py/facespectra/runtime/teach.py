"""Teach a model on a person's own examples, in the page: the trainer's features, JPEG re-saves and
solver (runtime/fit.py), an L2 strength chosen by cross-validation, and a cross-validated estimate
to show before the model is used. numpy + standard library only: the page runs this in Pyodide.

Folds are drawn by example image, so no image's re-saves fall on both sides of a fold. The estimate
is read from the out-of-fold probabilities of the originals (the files as given) with the chosen L2;
the same folds chose it, so with few examples the estimate leans optimistic, and the page says so.
The same out-of-fold predictions fit the taught model's own verdict rule where the examples allow
(runtime/teachrule.py); otherwise it has none, and verdict.decide_band answers for it.
"""

import math
import random
from datetime import datetime, timezone

import numpy as np

from . import decode
from .fit import LogisticRegression, class_reference
from .inputflags import header_facts, lossy_codec
from .model import SpectralModel
from .resave import QUALITIES, qualities_for, resaves
from .spectrum import extract
from .teachrule import BACKING, fit_rule
from .verdict import distance, regime

RESAVES = 8  # per example, as the trainer's AugmentPlan.n_jpeg: 8 of the 9 QUALITIES
L2_GRID = (1e-3, 1e-2, 1e-1, 1.0)
SOLVER = {"lr": 1.0, "max_iter": 2000, "tol": 1e-5, "class_weight": "balanced"}
THRESHOLD = 0.5
MAX_FOLDS = 5
MIN_PER_CLASS = 4  # fewer cannot be cross-validated at all
FEW_PER_CLASS = 20  # below this the estimate moves by 5 points per image (Durall et al. reached 100% with 20)
LOPSIDED = 3.0  # one kind at least this many times as numerous as the other
LOW_ACCURACY = 0.75
CONFIDENT = 0.9  # an out-of-fold error is confident when p(its true class) < 1 - CONFIDENT
SIZE_RATIO = 1.5


class TeachError(ValueError):
    """Examples that cannot make a model; the message says what to add."""


def example_features(data, config, n_resaves=RESAVES):
    """One example's bytes -> its feature rows (the file as given, then each re-save), each row's input
    regime (for the taught rule), the re-save qualities and the image size. Raises InputError for a file
    that is not a usable image."""
    qualities = qualities_for(data, n_resaves)
    files = [data, *resaves(data, qualities)]
    return {"features": [extract(b, config).tolist() for b in files], "regimes": [_regime(b) for b in files],
            "qualities": qualities, "size": list(decode.open_image(data).size)}


def _regime(data):
    """A file's input regime from its header, as classify reads it."""
    return regime(*header_facts(data), lossy_codec(data))


def folds_of(labels, k, seed=0):
    """Fold number per example, each class spread evenly over the k folds (standard library draw:
    the page's numpy has no numpy.random)."""
    rng = random.Random(seed)
    folds = [0] * len(labels)
    for c in (0, 1):
        idx = [i for i, label in enumerate(labels) if label == c]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            folds[i] = j % k
    return np.array(folds, dtype=int)


def _log_loss(y, p, sw):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(sw @ -(y * np.log(p) + (1 - y) * np.log(1 - p)) / sw.sum())


def _balanced_weights(y):
    n1 = y.sum()
    return np.where(y == 1, 0.5 / n1, 0.5 / (len(y) - n1))


def _out_of_fold(X, y, image, folds, k, l2):
    """-> (p_fake, distance from the training rows' scaler) of every row, each from the fold without it."""
    p, dist = np.empty(len(y)), np.empty(len(y))
    for f in range(k):
        val = folds[image] == f
        clf = LogisticRegression(l2=l2, **SOLVER).fit(X[~val], y[~val])
        p[val] = clf.predict_proba(X[val])[:, 1]
        dist[val] = distance((X[val] - clf.mean_) / clf.scale_)
    return p, dist


def _per_class(y, p):
    out = {}
    for c, name in enumerate(("real", "fake")):
        right = (p[y == c] >= THRESHOLD) == bool(c)
        out[name] = {"n": int(right.size), "correct": int(right.sum()), "accuracy": float(right.mean())}
    return out


def _warnings(n_real, n_fake, accuracy, sizes, labels):
    said = []
    if min(n_real, n_fake) < FEW_PER_CLASS:
        said.append(f"Few examples ({n_real} real, {n_fake} generated): each image moves the estimate by several "
                    f"points, so it can be far off. {FEW_PER_CLASS} or more of each kind make it dependable.")
    if max(n_real, n_fake) >= LOPSIDED * min(n_real, n_fake):
        said.append(f"The examples are one-sided ({n_real} real, {n_fake} generated): both kinds weigh the same "
                    f"in training, but the rarer kind is learnt from few images. Add more of it.")
    if accuracy < LOW_ACCURACY:
        said.append(f"The estimate is low ({100 * accuracy:.0f}%): these examples do not separate well by their "
                    f"spectra. Do not rely on this model.")
    sides = [np.median([min(s) for s, label in zip(sizes, labels) if label == c]) for c in (0, 1)]
    if max(sides) > SIZE_RATIO * min(sides):
        said.append(f"The real examples are mostly {sides[0]:.0f} px and the generated ones {sides[1]:.0f} px "
                    f"(shorter side): the model may learn the size instead of the generator. Use examples of "
                    f"similar sizes.")
    return said


def teach(examples, config, *, when=None):
    """examples: [{"label": 0 (real) | 1 (generated), "features": rows as example_features gives, "size"}].

    -> (SpectralModel with threshold 0.5, report): the report holds the cross-validated estimate
    (balanced accuracy, per class, confident errors by example index), the L2 search and warnings.
    """
    labels = [int(e["label"]) for e in examples]
    n_real, n_fake = labels.count(0), labels.count(1)
    if min(n_real, n_fake) < MIN_PER_CLASS:
        raise TeachError(f"Teaching needs at least {MIN_PER_CLASS} readable examples of each kind; "
                         f"there are {n_real} real and {n_fake} generated.")
    rows = [np.asarray(e["features"], dtype=np.float64) for e in examples]
    bad = next((i for i, r in enumerate(rows) if r.ndim != 2 or r.shape[1] != config.n_features), None)
    if bad is not None:
        raise TeachError(f"example {bad} has features of another model (expected {config.n_features} per row)")
    X = np.vstack(rows)
    image = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
    y = np.asarray(labels, dtype=np.float64)[image]
    original = np.zeros(len(y), dtype=bool)
    original[np.cumsum([0] + [len(r) for r in rows[:-1]])] = True
    k = min(MAX_FOLDS, n_real, n_fake)
    folds = folds_of(labels, k)
    sw = _balanced_weights(y)
    search, best = [], None
    for l2 in L2_GRID:
        p, dist = _out_of_fold(X, y, image, folds, k, l2)
        loss = _log_loss(y, p, sw)
        search.append({"l2": l2, "cv_log_loss": round(loss, 6)})
        if best is None or round(loss, 4) <= round(best[1], 4):  # ties go to the stronger penalty
            best = (l2, loss, p)
    l2, _, p_oof = best
    regimes = [name for e in examples for name in e["regimes"]]
    rule, rule_summary = fit_rule(p_oof, y, image, regimes, dist)  # a fold's distances do not depend on l2
    yo, po = y[original], p_oof[original]
    per_class = _per_class(yo, po)
    accuracy = (per_class["real"]["accuracy"] + per_class["fake"]["accuracy"]) / 2
    p_true = np.where(yo == 1, po, 1 - po)
    confident = [int(i) for i in np.flatnonzero(p_true < 1 - CONFIDENT)]
    resaved = _per_class(y[~original], p_oof[~original])
    report = {
        "accuracy": accuracy, "per_class": per_class, "confident_errors": confident,
        "resaved_accuracy": (resaved["real"]["accuracy"] + resaved["fake"]["accuracy"]) / 2,
        "folds": k, "l2": l2, "l2_search": search, "n_real": n_real, "n_fake": n_fake,
        "rule": {"fitted": rule is not None, "regimes": rule_summary, "min_backing": BACKING},
        "warnings": _warnings(n_real, n_fake, accuracy, [e["size"] for e in examples], labels),
    }
    clf = LogisticRegression(l2=l2, **SOLVER).fit(X, y)
    if not all(math.isfinite(v) for v in (clf.intercept_, *clf.coef_)):
        raise TeachError("the fit did not reach finite weights; add more varied examples")
    when = when or datetime.now(timezone.utc).isoformat(timespec="seconds")
    provenance = {
        "trained": "in the browser, by facespectra's Teach panel, on the device",
        "when": when, "n_images": len(rows), "n_real": n_real, "n_fake": n_fake, "n_rows": int(len(y)),
        "augmentation": {"jpeg_resaves": RESAVES, "qualities": list(QUALITIES)},
        "solver": {**clf.get_params(), "n_iter": clf.n_iter_, "converged": bool(clf.converged_)},
        "decision_rule": (f"its own, from its out-of-fold predictions: per input regime, thresholds beyond which "
                          f"no example was wrong, each backed by {BACKING} examples or more" if rule is not None else
                          f"threshold {THRESHOLD}; no verdict rule (too few examples, or they overlap out of fold): "
                          "uncertain near the threshold, and outside full-size images"),
    }
    metrics = {"cross_validation": {key: report[key] for key in
                                    ("accuracy", "per_class", "resaved_accuracy", "folds", "l2", "l2_search")}}
    model = SpectralModel(config, clf.mean_, clf.scale_, clf.coef_, clf.intercept_, THRESHOLD,
                          metrics=metrics, provenance=provenance, reference=class_reference(X, y), verdict_rule=rule)
    return model, report
