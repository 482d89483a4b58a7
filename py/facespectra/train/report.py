"""One self-contained report.html (plots and thumbnails inlined as base64 PNG) + metrics.json.

Self-contained so a report can be mailed or archived as one file and still show everything.
"""

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..runtime import decode  # noqa: E402
from .atomic import write_text_atomic  # noqa: E402
from ..runtime.errors import InputError  # noqa: E402
from .evaluate import detector_table, dump, roc_curve, summary_table  # noqa: E402

GALLERY_MAX = 24
THUMB = 128


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64, alt):
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _loss_plot(history):
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(np.arange(1, len(history) + 1), history)
    ax.set(xlabel="iteration", ylabel="training objective", title="Loss curve", yscale="log")
    return _png(fig)


def _roc_plot(preds, metrics):
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for name, (y, p, _) in preds.items():
        if len(np.unique(y)) < 2:  # synthetic fakes only: no false fake rate to draw
            continue
        fpr, tpr = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {metrics[name]['auc']:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="false fake rate", ylabel="true fake rate", title="ROC per condition")
    ax.legend(fontsize=7)
    return _png(fig)


def _risk_coverage_plot(preds, metrics):
    """Error among the images answered as the least confident are left unanswered, per condition; a dot
    marks where the fitted verdict rule operates (its coverage and its confident-error rate)."""
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, (y, p, _) in preds.items():
        order = np.argsort(-np.abs(np.asarray(p) - 0.5), kind="mergesort")
        wrong = ((np.asarray(p)[order] >= 0.5) != np.asarray(y)[order].astype(bool)).astype(float)
        n = np.arange(1, len(order) + 1)
        line, = ax.plot(n / len(order), np.cumsum(wrong) / n, label=name)
        m = metrics[name]
        if "coverage" in m:
            errors = (m["real_called_fake"] + m["fake_called_real"]) / max(m["coverage"] * (m["n_real"] + m["n_fake"]), 1)
            ax.plot([m["coverage"]], [errors], "o", color=line.get_color())
    ax.set(xlabel="coverage (share answered)", ylabel="error rate among answered", title="Risk-coverage",
           xlim=(0, 1), ylim=(0, None))
    ax.legend(fontsize=7)
    return _png(fig)


def _confusion_plot(metrics):
    names = list(metrics)
    fig, axes = plt.subplots(1, len(names), figsize=(2.2 * len(names), 2.4))
    for ax, name in zip(np.atleast_1d(axes), names):
        cm = np.array(metrics[name]["confusion"])
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center")
        ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["real", "fake"], yticklabels=["real", "fake"], title=name)
        ax.title.set_fontsize(8)
        ax.set_xlabel("predicted", fontsize=7)
    return _png(fig)


def _spectrum_plot(model, X, y):
    freqs = model.config.frequencies()
    sectors = model.config.n_sectors
    fig, ax = plt.subplots(figsize=(6, 3.5))
    n = len(freqs) // sectors
    for label, name, colour in ((0, "real", "tab:blue"), (1, "fake", "tab:red")):
        if not np.any(y == label):
            continue
        m, s = X[y == label].mean(axis=0), X[y == label].std(axis=0)
        for k, style in zip(range(sectors), ("-", "--")):
            sl = slice(k * n, (k + 1) * n)
            ax.plot(freqs[sl], m[sl], style, color=colour, label=f"{name}" + (" (off-axis)" if k else ""))
            ax.fill_between(freqs[sl], (m - s)[sl], (m + s)[sl], color=colour, alpha=0.15)
    ax.set(xlabel="frequency (cycles/pixel)", ylabel="mean log magnitude (dB-like)",
           title="Mean spectrum per class (as distributed, ±1 std)")
    ax.legend(fontsize=7)
    return _png(fig)


def _weights_plot(model):
    freqs = model.config.frequencies()
    fig, ax = plt.subplots(figsize=(6, 3))
    idx = np.arange(len(freqs))
    ax.bar(idx, model.coef, color=np.where(model.coef > 0, "tab:red", "tab:blue"))
    step = max(1, len(freqs) // 8)
    ax.set_xticks(idx[::step], [f"{f:.2f}" for f in freqs[::step]], fontsize=7)
    ax.set(xlabel="band centre (cycles/pixel); second half = off-axis sector" if model.config.n_sectors > 1
           else "band centre (cycles/pixel)", ylabel="weight (standardised)",
           title="Per-band weights (red pushes towards fake)")
    return _png(fig)


def _coverage_plot(metrics):
    """Per condition, the share of real and of generated images given a verdict, with the confident errors'
    95% upper bounds beside it: where the rule answers, and what its answers risk."""
    names = [n for n, m in metrics.items() if "coverage" in m]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 0.3 * len(names) + 1.2), sharey=True)
    pos = np.arange(len(names))
    for offset, cls, colour in ((-0.2, "real", "tab:blue"), (0.2, "fake", "tab:red")):
        ax.barh(pos + offset, [100 * np.nan_to_num(metrics[n][f"coverage_{cls}"]) for n in names], 0.4,
                color=colour, label=cls)
        bx.barh(pos + offset, [100 * metrics[n][f"bound_error_{cls}"] if metrics[n][f"n_{cls}"] else 0 for n in names],
                0.4, color=colour)
    bx.axvline(1.0, color="k", lw=0.8, ls=":")
    ax.set(yticks=pos, yticklabels=names, xlabel="decided (%)", xlim=(0, 100), title="Coverage")
    bx.set(xlabel="confident errors, 95% upper bound (%)", title="Risk (dotted: the 1% promise)")
    ax.invert_yaxis()
    ax.legend(fontsize=7)
    return _png(fig)


def _thumb(path):
    """A small PNG of a misclassified image, read through the same validation path as everything else."""
    try:
        im = decode.load(Path(path).read_bytes(), gray="mean")
    except (OSError, InputError):
        return None
    im.thumbnail((THUMB, THUMB))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _gallery(preds, table, threshold):
    cells = []
    for name, (y, p, items) in preds.items():
        for yi, pi, ii in zip(y, p, items):
            if (pi >= threshold) != bool(yi):
                cells.append((name, int(yi), float(pi), table.items[ii].path))
    cells.sort(key=lambda c: -abs(c[2] - threshold))
    out = []
    for name, yi, pi, path in cells[:GALLERY_MAX]:
        b64 = _thumb(path)
        img = _img(b64, path.name) if b64 else "(unreadable)"
        out.append(f'<figure>{img}<figcaption>{html.escape(path.name)}<br>{"fake" if yi else "real"}, '
                   f"p(fake)={pi:.2f}<br>{html.escape(name)}</figcaption></figure>")
    more = f"<p>{len(cells) - GALLERY_MAX} more not shown.</p>" if len(cells) > GALLERY_MAX else ""
    return ("".join(out) or "<p>No misclassified images.</p>") + more


SPLITS = {"cv": "cross-validated", "held_out": "held out", "evaluated": "on these images"}


def write_report(out_dir, *, title, model, metrics, preds, table, items_mask, config_name):
    """Write out_dir/metrics.json and out_dir/report.html."""
    out_dir = Path(out_dir)
    write_text_atomic(out_dir / "metrics.json", dump(metrics))
    cond = metrics["conditions"]
    rows = table.rows(items_mask, lambda v: v.identity)
    sections = [("Metrics per condition", "<pre>" + html.escape(summary_table(cond)) + "</pre>")]
    if any("coverage" in m for m in cond.values()):
        sections.append(("Coverage and risk per condition", _img(_coverage_plot(cond), "coverage and risk")))
    if metrics.get("cv_verdict_rule"):
        sections.append(("Verdict rule, cross-validated (each fold judged by the rule fitted without it)",
                         "<pre>" + html.escape(summary_table(metrics["cv_verdict_rule"])) + "</pre>"))
    for split, per_detector in (metrics.get("detectors") or {}).items():
        sections.append((f"Each detector's rule, {SPLITS[split]} "
                         "(coverage real/generated · real called generated · generated called real)",
                         "<pre>" + html.escape(detector_table(per_detector)) + "</pre>"))
    history = model.provenance.get("loss_history")
    if history:
        sections.append(("Loss curve", _img(_loss_plot(history), "loss curve")))
    sections += [
        ("ROC", _img(_roc_plot(preds, cond), "ROC")),
        ("Risk-coverage", _img(_risk_coverage_plot(preds, cond), "risk-coverage")),
        ("Confusion matrices (rows: true class)", _img(_confusion_plot(cond), "confusion matrices")),
        ("Mean spectrum per class", _img(_spectrum_plot(model, table.X[config_name][rows], table.labels[rows]),
                                         "mean spectra")),
        ("Per-band weights", _img(_weights_plot(model), "weights")),
        ("Misclassified images (most confident first)", f'<div class="g">{_gallery(preds, table, 0.5 if model.verdict_rule else model.threshold)}</div>'),
    ]
    if metrics.get("skipped"):
        sections.append(("Skipped files", "<ul>" + "".join(
            f"<li>{html.escape(s['path'])}: {html.escape(s['reason'])}</li>" for s in metrics["skipped"]) + "</ul>"))
    body = "".join(f"<h2>{html.escape(h)}</h2>{c}" for h, c in sections)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;max-width:1100px;margin:auto}figure{display:inline-block;margin:4px;"
            "font-size:11px;width:140px}.g{display:flex;flex-wrap:wrap}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{body}</body></html>")
    write_text_atomic(out_dir / "report.html", page)
