"""Choose feature config and solver settings by k-fold cross-validation on training images only.

Folds are drawn by source image (all augmented variants of an image fall in the same fold),
and each fold is scored in every evaluation condition; the score is the mean balanced accuracy
over the SCORED conditions (as distributed and the four compression-matched re-saves, which is
what the model is asked to do), so a config that only works as distributed cannot win. The
web-style condition is still computed and reported, but left out of the score: every candidate
is near chance there, so it only added noise to the choice.

The decision threshold is chosen afterwards, for each setting, from the same folds' out-of-fold
probabilities (see choose_threshold); settings are still ranked by their score at 0.5, so the
threshold never helps pick the setting it was tuned on.
"""

import itertools

import numpy as np
from tqdm import tqdm

from .evaluate import CONDITIONS, binary_metrics, condition_rows
from .logistic import LogisticRegression
from .rule import SYNTHETIC
from ..runtime.spectrum import FeatureConfig
from ..runtime.spectrum import fine_detail
from ..runtime.verdict import distance

CANDIDATES = {
    "radial64": FeatureConfig(),
    "axes64": FeatureConfig(name="axes64", angular="axes"),
    # axes64 + 14 peak features at the 1/8-cycle grid points (up-sampling by 2, 4, 8 and JPEG blocks)
    "axes64g8": FeatureConfig(name="axes64g8", angular="axes", grid_peaks=8),
    "axes32g8": FeatureConfig(name="axes32g8", angular="axes", bins=32, grid_peaks=8),
}
SCORED = ("as_distributed", "jpeg_q95", "jpeg_q85", "jpeg_q75", "jpeg_q65")
L2 = (1e-4, 1e-3, 1e-2)
# (lr, max_iter, tol): run to convergence, or stop early (early stopping is a regulariser too)
SOLVERS = ((1.0, 20000, 1e-6), (0.5, 300, 1e-6))


# "balanced": both classes weigh the same in the loss; None: every training row weighs the same (the
# synthetic fakes make real rows the majority, so this leans towards "real")
CLASS_WEIGHTS = ("balanced", None)

# Decision thresholds tried, 0.10..0.90: the page calls a verdict "uncertain" within 0.1 of the
# threshold, and that band must stay inside [0, 1].
THRESHOLDS = tuple(round(0.1 + 0.05 * i, 2) for i in range(17))


def grid():
    return [{"l2": l2, "lr": lr, "max_iter": it, "tol": tol, "class_weight": cw}
            for cw, l2, (lr, it, tol) in itertools.product(CLASS_WEIGHTS, L2, SOLVERS)]


def stratified_folds(labels, k, seed, *, include):
    """Fold number per item, 0..k-1 for the included (training) items, each of their classes spread
    evenly over the folds; -1 for every other item (held out, or skipped).

    Only the included items take part in the draw: the other items' labels, and whether they exist
    at all, do not change any included item's fold, so the held-out split cannot shape model selection.
    """
    labels, include = np.asarray(labels), np.asarray(include, dtype=bool)
    if include.shape != labels.shape:
        raise ValueError(f"include has shape {include.shape}, labels {labels.shape}")
    rng = np.random.default_rng(seed)
    folds = np.full(len(labels), -1, dtype=int)
    for c in np.unique(labels[include]):
        idx = np.flatnonzero(include & (labels == c))
        folds[rng.permutation(idx)] = np.arange(len(idx)) % k
    return folds


def cv_score(table, config_name, params, train_items, is_train_row, folds, k, config=None):
    """-> (mean over folds and SCORED conditions of balanced accuracy, the mean of every condition,
    out-of-fold predictions {SCORED condition: [(y, p_fake) per fold]},
    out-of-fold p_fake of the validation photos' synthetic fakes {up-sampler: array},
    out-of-fold rows for the verdict rule {condition: {"y", "synthetic", "fold", "logit", "side", "quality",
    "distance": array}}, where the validation photos' synthetic fakes form one more condition, "synthetic").

    The synthetic fakes of a validation fold's real photos are never trained on in that fold, so
    how many are called fake measures the up-sampling families on unseen photos: the one
    generalisation check these data allow, as the seed fakes all come from one generator.
    """
    X, y = table.X[config_name], table.labels
    # the fine detail the rule's "smoothed" flag reads (tests' synthetic tables have no spectrum: none)
    detail = np.zeros(len(y)) if config is None else fine_detail(X, config)
    per_cond = {name: [] for name in CONDITIONS}
    oof = {name: [] for name in SCORED}
    rule_rows = {name: [] for name in CONDITIONS}
    upsampler = np.array([v.upsampler for v in table.variants])
    synthetic = {kind: [] for kind in sorted(set(upsampler) - {""})}
    for f in range(k):
        fit_items = train_items & (folds != f)  # folds is -1 exactly outside train_items
        val_items = train_items & (folds == f)
        rows = is_train_row & fit_items[table.items_idx]
        clf = LogisticRegression(**params).fit(X[rows], y[rows])
        for name in CONDITIONS:
            vr = condition_rows(table, val_items, name)
            if vr.any():
                p = clf.predict_proba(X[vr])[:, 1]
                per_cond[name].append(binary_metrics(y[vr], p)["balanced_accuracy"])
                if name in oof:
                    oof[name].append((y[vr], p))
                rule_rows[name].append(_rule_rows(clf, table, X, detail, vr, f))
        for kind, probs in synthetic.items():
            vr = val_items[table.items_idx] & (upsampler == kind)
            probs.append(clf.predict_proba(X[vr])[:, 1])
        vr = val_items[table.items_idx] & table.synthetic
        if vr.any():  # fakes of other up-sampling families: the rule must not call them real either
            rule_rows.setdefault(SYNTHETIC, []).append(_rule_rows(clf, table, X, detail, vr, f))
    means = {name: float(np.mean(v)) for name, v in per_cond.items() if v}
    synthetic = {kind: np.concatenate(probs) for kind, probs in synthetic.items()}
    rule_rows = {name: {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
                 for name, parts in rule_rows.items() if parts}
    return float(np.mean([means[name] for name in SCORED if name in means])), means, oof, synthetic, rule_rows


def _rule_rows(clf, table, X, detail, rows, fold):
    """What the verdict rule is fitted on, for the chosen rows of one validation fold (with the CNN head's
    out-of-fold log-odds, where the table has them)."""
    cnn = {} if table.cnn_logit is None else {"cnn_logit": table.cnn_logit[rows]}
    return {**cnn, "y": table.labels[rows], "synthetic": table.synthetic[rows], "fold": np.full(int(rows.sum()), fold),
            "logit": clf.decision_function(X[rows]), "side": table.sides[rows], "quality": table.qualities[rows],
            "resampling": table.resampling[rows], "detail": detail[rows], "graphics": table.graphics[rows],
            "distance": distance((X[rows] - clf.mean_) / clf.scale_)}


def threshold_curve(oof, thresholds=THRESHOLDS):
    """CV score at each threshold, averaged exactly as cv_score averages it at 0.5 (folds, then conditions)."""
    t = np.asarray(thresholds)[:, None]
    per_cond = []
    for folds in oof.values():
        if folds:
            per_cond.append(np.mean([(np.mean(p[y == 1] >= t, axis=1) + np.mean(p[y == 0] < t, axis=1)) / 2
                                     for y, p in folds], axis=0))
    return np.mean(per_cond, axis=0)


def choose_threshold(curve, thresholds=THRESHOLDS):
    """The middle of the best plateau of the smoothed curve; 0.5 unless another threshold is better.

    Out-of-fold scores come from 337 images, so a lone best grid point may be a few lucky images:
    each point is first averaged with its neighbours, scores are compared to 0.01 points (as the
    settings are), the middle of the run of best points (the run nearest 0.5) is taken, and 0.5 wins
    every tie and every choice whose own score is not higher than at 0.5.
    """
    t, s = np.asarray(thresholds), np.asarray(curve)
    ones = np.ones(3)
    smooth = np.round(np.convolve(s, ones, "same") / np.convolve(np.ones_like(s), ones, "same"), 4)
    half = int(np.flatnonzero(np.isclose(t, 0.5))[0])
    best = smooth == smooth.max()
    if best[half]:
        return 0.5
    i = min(np.flatnonzero(best), key=lambda j: abs(t[j] - 0.5))
    lo, hi = i, i
    while lo > 0 and best[lo - 1]:
        lo -= 1
    while hi < len(t) - 1 and best[hi + 1]:
        hi += 1
    mid = min(((lo + hi) // 2, (lo + hi + 1) // 2), key=lambda j: abs(t[j] - 0.5))
    return float(t[mid]) if round(s[mid], 4) > round(s[half], 4) else 0.5


def run(table, configs, train_items, is_train_row, *, k=4, seed=0):
    """-> (best config name, best params, list of all results sorted best first).

    Each result carries its CV-chosen threshold, the score there, the whole curve over THRESHOLDS, its
    out-of-fold rows for the verdict rule and, at that threshold, the share of the validation photos' synthetic fakes called fake per up-sampler.
    """
    item_labels = np.array([it.label for it in table.items])
    # folds over the training images only: held-out items get -1 and take no part in the draw
    folds = stratified_folds(item_labels, k, seed, include=train_items)
    results = []
    combos = [(name, params) for name in configs for params in grid()]
    for name, params in tqdm(combos, desc="cross-validation", unit="setting"):
        score, means, oof, synthetic, rule_rows = cv_score(table, name, params, train_items, is_train_row, folds, k,
                                                            configs[name])
        curve = threshold_curve(oof)
        threshold = choose_threshold(curve)
        results.append({"config": name, "params": params, "cv_balanced_accuracy": score, "per_condition": means,
                        "threshold": threshold, "cv_at_threshold": float(curve[THRESHOLDS.index(threshold)]),
                        "threshold_curve": curve.tolist(), "rule_rows": rule_rows,
                        "synthetic_recall": {kind: float(np.mean(p >= threshold)) for kind, p in synthetic.items() if p.size}})
    # ties go to the earlier (simpler) setting: sort is stable
    results.sort(key=lambda r: -round(r["cv_balanced_accuracy"], 4))
    return results[0]["config"], results[0]["params"], results
