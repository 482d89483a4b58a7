"""Metrics in the three conditions every result must be read in.

As distributed; both classes re-saved at the same JPEG quality (95, 85, 75, 65), which
removes the seed data's compression shortcut; and web-style (shorter side 512, JPEG 85).
A score as distributed means little without its compression-matched twins.
"""

import json

import numpy as np

from .augment import Variant

CONDITIONS = {
    "as_distributed": Variant(),
    "jpeg_q95": Variant(quality=95),
    "jpeg_q85": Variant(quality=85),
    "jpeg_q75": Variant(quality=75),
    "jpeg_q65": Variant(quality=65),
    "web_512_q85": Variant(side=512, quality=85),
}


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


def condition_rows(table, items_mask, variant):
    return table.rows(items_mask, lambda v: v == variant)


def evaluate_model(model, table, items_mask, config_name):
    """-> ({condition: metrics}, {condition: (y, p_fake, item indices)})"""
    metrics, preds = {}, {}
    for name, variant in CONDITIONS.items():
        rows = condition_rows(table, items_mask, variant)
        if not rows.any():
            continue
        p = model.predict_proba(table.X[config_name][rows])[:, 1]
        y = table.labels[rows]
        metrics[name] = binary_metrics(y, p, model.threshold)
        preds[name] = (y, p, table.items_idx[rows])
    return metrics, preds


def summary_table(metrics):
    """Markdown table: one row per condition, balanced accuracy and AUC."""
    lines = ["| condition | balanced accuracy | AUC | real / fake |", "| --- | --- | --- | --- |"]
    for name, m in metrics.items():
        lines.append(f"| {name} | {100 * m['balanced_accuracy']:.1f}% | {m['auc']:.3f} | {m['n_real']} / {m['n_fake']} |")
    return "\n".join(lines)


def dump(metrics):
    return json.dumps(metrics, indent=1, sort_keys=False, default=float)
