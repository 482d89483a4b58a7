"""Metrics in every condition a result must be read in, with coverage and confident errors.

As distributed; both classes re-saved at the same JPEG quality (95, 85, 75, 65), which removes the
seed data's compression shortcut; web-style (downscaled to 30-80% of the side, then JPEG 60-90); and
small (a shorter side of 128-256 px). A condition's variant may depend on the image (drawn from its
content hash), so each image gets its own web-style size and quality.
"""

import json

import numpy as np

from ..runtime.classify import judge
from .augment import Variant, image_rng


def _fixed(variant):
    return lambda content_hash: variant


def _web(content_hash):
    rng = image_rng(content_hash, 101)
    return Variant(side=int(rng.integers(307, 820)), quality=int(rng.integers(60, 91)))


def _small(content_hash):
    rng = image_rng(content_hash, 102)
    return Variant(side=int(rng.integers(128, 257)), quality=int(rng.integers(70, 96)))


# name -> content hash -> Variant
CONDITIONS = {
    "as_distributed": _fixed(Variant()),
    "jpeg_q95": _fixed(Variant(quality=95)),
    "jpeg_q85": _fixed(Variant(quality=85)),
    "jpeg_q75": _fixed(Variant(quality=75)),
    "jpeg_q65": _fixed(Variant(quality=65)),
    "web": _web,
    "small": _small,
}


def condition_variants(content_hash):
    """Every condition's variant of one image (duplicates removed, order kept)."""
    return list(dict.fromkeys(make(content_hash) for make in CONDITIONS.values()))


def auc(y, score):
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    y = np.asarray(y)
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    if not n0 or not n1:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s = np.asarray(score)[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2.0 + 1.0
        i = j + 1
    r = np.empty(len(s))
    r[order] = ranks
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n0 * n1))


def roc_curve(y, score):
    thresholds = np.r_[np.inf, np.unique(score)[::-1]]
    y = np.asarray(y)
    tpr = [(score[y == 1] >= t).mean() for t in thresholds]
    fpr = [(score[y == 0] >= t).mean() for t in thresholds]
    return np.array(fpr), np.array(tpr)


def binary_metrics(y, p_fake, threshold=0.5):
    y = np.asarray(y)
    pred = np.asarray(p_fake) >= threshold
    tn, fp = int(np.sum(~pred & (y == 0))), int(np.sum(pred & (y == 0)))
    fn, tp = int(np.sum(~pred & (y == 1))), int(np.sum(pred & (y == 1)))
    tnr = tn / max(tn + fp, 1)
    tpr = tp / max(tp + fn, 1)
    return {"balanced_accuracy": (tnr + tpr) / 2.0, "accuracy": (tn + tp) / max(len(y), 1), "auc": auc(y, p_fake),
            "true_real_rate": tnr, "true_fake_rate": tpr, "confusion": [[tn, fp], [fn, tp]],
            "n_real": tn + fp, "n_fake": fn + tp}


def condition_rows(table, items_mask, name):
    """Rows of the chosen items that hold their own variant for condition `name`."""
    make = CONDITIONS[name]
    keep = np.array([v == make(table.hashes[i]) for i, v in zip(table.items_idx, table.variants)], dtype=bool)
    return keep & np.asarray(items_mask)[table.items_idx]


def verdict_metrics(y, verdicts):
    """Coverage (share given a confident verdict) and confident errors per class, of verdict strings."""
    y, v = np.asarray(y), np.asarray(verdicts)
    n_real, n_fake = int((y == 0).sum()), int((y == 1).sum())
    confident = v != "uncertain"
    real_called_fake = int(np.sum((y == 0) & (v == "fake")))
    fake_called_real = int(np.sum((y == 1) & (v == "real")))
    right = int(np.sum(((y == 0) & (v == "real")) | ((y == 1) & (v == "fake"))))
    return {"coverage": float(confident.mean()) if len(v) else float("nan"),
            "coverage_real": float(confident[y == 0].mean()) if n_real else float("nan"),
            "coverage_fake": float(confident[y == 1].mean()) if n_fake else float("nan"),
            "confident_error_real": real_called_fake / max(n_real, 1),
            "confident_error_fake": fake_called_real / max(n_fake, 1),
            "accuracy_when_confident": right / max(int(confident.sum()), 1),
            "real_called_fake": real_called_fake, "fake_called_real": fake_called_real}


def judge_rows(model, X, sides, qualities):
    """-> (verdicts, calibrated p_fake) of feature rows with their header facts, as the runtime judges a file."""
    out = [judge(x, int(s), None if q <= 0 else int(q), model) for x, s, q in zip(X, sides, qualities)]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def evaluate_model(model, table, items_mask, config_name):
    """-> ({condition: metrics}, {condition: (y, p_fake, item indices)}); p_fake is calibrated
    where the model carries a verdict rule, and the metrics then include coverage and confident errors."""
    metrics, preds = {}, {}
    for name in CONDITIONS:
        rows = condition_rows(table, items_mask, name)
        if not rows.any():
            continue
        X, y = table.X[config_name][rows], table.labels[rows]
        p = model.predict_proba(X)[:, 1]
        metrics[name] = binary_metrics(y, p, model.threshold)
        if model.verdict_rule is not None:
            verdicts, p = judge_rows(model, X, table.sides[rows], table.qualities[rows])
            metrics[name].update(verdict_metrics(y, verdicts))
        preds[name] = (y, p, table.items_idx[rows])
    return metrics, preds


def summary_table(metrics):
    """Markdown table: one row per condition; coverage and confident errors where a verdict rule applied."""
    lines = ["| condition | balanced accuracy | AUC | coverage | confident errors real / fake | real / fake |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, m in metrics.items():
        cover = f"{100 * m['coverage']:.1f}%" if "coverage" in m else "–"
        errors = (f"{100 * m['confident_error_real']:.1f}% / {100 * m['confident_error_fake']:.1f}%"
                  if "coverage" in m else "–")
        lines.append(f"| {name} | {100 * m['balanced_accuracy']:.1f}% | {m['auc']:.3f} | {cover} | {errors} "
                     f"| {m['n_real']} / {m['n_fake']} |")
    return "\n".join(lines)


def dump(metrics):
    return json.dumps(metrics, indent=1, sort_keys=False, default=float)
