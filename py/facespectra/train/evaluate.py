"""Metrics in every condition a result must be read in, with coverage and confident errors.

As distributed; both classes re-saved at the same JPEG quality (95, 85, 75, 65), which removes the
seed data's compression shortcut; web-style (downscaled to 30-80% of the side, then JPEG 60-90);
small (a shorter side of 128-256 px); downscaled to 512 and to 768 px (JPEG 70-95), the sizes web
pages show; and one condition per everyday edit (edits.py), each then saved at JPEG q70-95, plus
synthetic fakes edited so, and synthetic fakes downscaled to 512 or 768 px. A condition's variant may
depend on the image (drawn from its content hash), so each image gets its own web-style size, edit
and quality.
"""

import json
from functools import lru_cache

import numpy as np

from ..runtime.classify import judge
from .augment import Variant, image_rng
from .bounds import upper_bound
from .edits import FITTED, HELD_OUT, QUALITY_RANGE, draw


def _fixed(variant):
    return lambda content_hash: variant


def _web(content_hash):
    rng = image_rng(content_hash, 101)
    return Variant(side=int(rng.integers(307, 820)), quality=int(rng.integers(60, 91)))


def _sized(side, salt):
    """Downscaled to `side` px (the sizes web pages show), then JPEG q70-95."""
    def make(content_hash):
        return Variant(side=side, quality=_site_quality(image_rng(content_hash, salt)))
    return make


def _small(content_hash):
    rng = image_rng(content_hash, 102)
    return Variant(side=int(rng.integers(128, 257)), quality=int(rng.integers(70, 96)))


def _site_quality(rng):
    return int(rng.integers(QUALITY_RANGE[0], QUALITY_RANGE[1] + 1))


def _edited(kind, salt):
    def make(content_hash):
        rng = image_rng(content_hash, salt)
        return Variant(edit=draw(kind, rng), quality=_site_quality(rng))
    return make


def _edited_synthetic(content_hash):
    """A synthetic fake of the image (a generator other than the seed's), then an everyday edit."""
    from .upsamplers import KINDS

    rng = image_rng(content_hash, 120)
    return Variant(upsampler=str(rng.choice(KINDS)), seed=int(rng.integers(2**31)), stages=int(rng.integers(1, 4)),
                   edit=draw(str(rng.choice(FITTED)), rng), quality=_site_quality(rng))


def _downscaled_synthetic(content_hash):
    """A synthetic fake of the image downscaled to 512 or 768 px: the up-sampling traces are gone and what is
    left is a real photo's look, so no rule may call it real (the absence of traces is no evidence)."""
    from .upsamplers import KINDS

    rng = image_rng(content_hash, 121)
    return Variant(upsampler=str(rng.choice(KINDS)), seed=int(rng.integers(2**31)), stages=int(rng.integers(1, 4)),
                   side=int(rng.choice((512, 768))), quality=_site_quality(rng))


# name -> content hash -> Variant
CONDITIONS = {
    "as_distributed": _fixed(Variant()),
    "jpeg_q95": _fixed(Variant(quality=95)),
    "jpeg_q85": _fixed(Variant(quality=85)),
    "jpeg_q75": _fixed(Variant(quality=75)),
    "jpeg_q65": _fixed(Variant(quality=65)),
    "web": _web,
    "small": _small,
    "px512": _sized(512, 130),
    "px768": _sized(768, 131),
    **{f"edit_{kind}": _edited(kind, 110 + i) for i, kind in enumerate(FITTED + HELD_OUT)},
    "edit_synthetic": _edited_synthetic,
    "synthetic_downscaled": _downscaled_synthetic,
}
# Judged and reported, never fitted on: the rule must hold for edits it never saw.
HELD_OUT_CONDITIONS = tuple(f"edit_{kind}" for kind in HELD_OUT)


@lru_cache(maxsize=None)
def condition_variant(name, content_hash):
    """CONDITIONS[name](content_hash), drawn once per image (conditions are asked for on every fold)."""
    return CONDITIONS[name](content_hash)


def condition_variants(content_hash):
    """Every condition's variant of one image (duplicates removed, order kept)."""
    return list(dict.fromkeys(condition_variant(name, content_hash) for name in CONDITIONS))


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
    keep = np.array([v == condition_variant(name, table.hashes[i]) for i, v in zip(table.items_idx, table.variants)],
                    dtype=bool)
    return keep & np.asarray(items_mask)[table.items_idx]


def verdict_metrics(y, verdicts):
    """Coverage (share given a confident verdict) and confident errors per class, of verdict strings, with
    n and the 95% upper confidence bound of each error rate (bounds.py)."""
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
            "real_called_fake": real_called_fake, "fake_called_real": fake_called_real,
            "n_real": n_real, "n_fake": n_fake,
            "bound_error_real": upper_bound(real_called_fake, n_real),
            "bound_error_fake": upper_bound(fake_called_real, n_fake)}


def judge_rows(model, X, sides, qualities, resampling, drawn, cnn_logits=None):
    """-> (verdicts, calibrated p_fake) of feature rows with their header facts, resampling and graphics scores
    and the CNN's log-odds (None: judged without the network), as the runtime judges a file."""
    cnn = [None] * len(X) if cnn_logits is None else [float(z) for z in cnn_logits]
    out = [judge(x, int(s), None if q <= 0 else int(q), model, None, float(r), c, float(g))
           for x, s, q, r, c, g in zip(X, sides, qualities, resampling, cnn, drawn)]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def evaluate_model(model, table, items_mask, config_name, use_cnn=True):
    """-> ({condition: metrics}, {condition: (y, p_fake, item indices)}); p_fake is calibrated
    where the model carries a verdict rule, and the metrics then include coverage and confident errors.
    With `use_cnn` and a table holding the CNN's features, rows are judged as the runtime judges them once the
    network is there (the rule over both detectors); without, by the spectral model's own rule."""
    metrics, preds = {}, {}
    with_cnn = use_cnn and model.cnn is not None and table.cnn is not None
    for name in CONDITIONS:
        rows = condition_rows(table, items_mask, name)
        if not rows.any():
            continue
        X, y = table.X[config_name][rows], table.labels[rows]
        p = model.predict_proba(X)[:, 1]
        metrics[name] = binary_metrics(y, p, model.threshold)
        if model.verdict_rule is not None:
            cnn = model.cnn.logit(table.cnn[rows]) if with_cnn else None
            verdicts, p = judge_rows(model, X, table.sides[rows], table.qualities[rows], table.resampling[rows],
                                     table.graphics[rows], cnn)
            metrics[name].update(verdict_metrics(y, verdicts))
        preds[name] = (y, p, table.items_idx[rows])
    return metrics, preds


def _errors(m, cls):
    k, n = (m["real_called_fake"], m["n_real"]) if cls == "real" else (m["fake_called_real"], m["n_fake"])
    return f"{k} of {n} ({100 * k / max(n, 1):.1f}%; ≤ {100 * m[f'bound_error_{cls}']:.1f}%)"


def summary_table(metrics):
    """Markdown table: one row per condition; coverage and confident errors (count of n, rate, and its 95%
    upper bound) where a verdict rule applied. Edits the rule was never fitted on are marked."""
    lines = ["| condition | balanced accuracy | AUC | coverage | real called generated | generated called real |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, m in metrics.items():
        label = f"{name} (not fitted on)" if name in HELD_OUT_CONDITIONS else name
        judged = ([f"{100 * m['coverage']:.1f}%", _errors(m, "real"), _errors(m, "fake")] if "coverage" in m
                  else ["–"] * 3)
        scores = [f"{100 * m['balanced_accuracy']:.1f}%", f"{m['auc']:.3f}"] if "auc" in m else ["–"] * 2
        lines.append(f"| {label} | " + " | ".join(scores + judged) + " |")
    return "\n".join(lines)


def detector_table(per_detector):
    """Markdown table comparing rules per condition: {detector: {condition: metrics}} -> for each, coverage
    (real / generated) and confident errors (real called generated · generated called real, count of n)."""
    names = list(per_detector)
    lines = ["| condition | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]

    def cell(m):
        if m is None or "coverage" not in m:
            return "–"
        cov = "/".join("–" if v != v else f"{100 * v:.0f}%" for v in (m["coverage_real"], m["coverage_fake"]))
        return f"{cov} · {m['real_called_fake']}/{m['n_real']} · {m['fake_called_real']}/{m['n_fake']}"

    for cond in dict.fromkeys(c for d in per_detector.values() for c in d):
        label = f"{cond} (not fitted on)" if cond in HELD_OUT_CONDITIONS else cond
        lines.append(f"| {label} | " + " | ".join(cell(per_detector[n].get(cond)) for n in names) + " |")
    return "\n".join(lines)


def dump(metrics):
    return json.dumps(metrics, indent=1, sort_keys=False, default=float)
