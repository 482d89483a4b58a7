"""How well runtime/resampling.score tells edited photos from unedited ones, per edit kind and class.

Every seed photo (real and generated) gives an unedited copy and one copy per edit kind of
train/edits.py (FITTED and HELD_OUT), each re-saved as JPEG at a random quality 70-95, so both classes
meet the score at the same qualities. Printed per kind and class: the AUC against the unedited photos
of the same class, and the share flagged at the score thresholds that flag 1%, 5% and 10% of the
unedited photos of both classes pooled; then the median cost per 1024² image.
With --fit, the score's logistic constants are refitted on the weights' training split only (never on
the held-out photos) and printed, to paste into runtime/resampling.py.

    python scripts/resampling_probe.py [DATA] [--limit N] [--jobs 2] [--held-out] [--fit]
"""

import argparse
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py"))

from facespectra.runtime import decode, resampling, resave  # noqa: E402
from facespectra.runtime.fit import LogisticRegression  # noqa: E402
from facespectra.train import edits  # noqa: E402
from facespectra.train.dataset import discover  # noqa: E402
from facespectra.train.train import held_out_items  # noqa: E402

KINDS = ("unedited",) + edits.FITTED + edits.HELD_OUT
RESAMPLED_FIT = ("crop", "enlarge", "rotate", "downup")  # positives of --fit; unedited, sharpen, noise, tone: negatives
FLAG_RATES = (0.01, 0.05, 0.10)
SEED = 23


def measure(job):
    """(index, path) -> per kind: (statistics, score, ms, side) of the edited photo after a JPEG re-save."""
    index, path = job
    rgb = decode.load(path.read_bytes(), gray="mean")
    rows = []
    for k, kind in enumerate(KINDS):
        rng = np.random.default_rng([SEED, index, k])
        img = rgb if kind == "unedited" else edits.apply_edit(rgb, edits.draw(kind, rng))
        luma = decode.load(resave.jpeg_bytes(img, int(rng.integers(70, 96))), gray="luma")
        start = time.perf_counter()
        value = resampling.score(luma)
        ms = (time.perf_counter() - start) * 1e3
        stats = resampling.statistics(np.asarray(luma))
        rows.append((stats, value, ms, min(luma.size)))
    return rows


def auc(negatives, positives):
    """Probability that a positive outscores a negative (ties count half)."""
    neg, pos = np.sort(negatives), np.asarray(positives)
    below = np.searchsorted(neg, pos, side="left")
    equal = np.searchsorted(neg, pos, side="right") - below
    return float((below + 0.5 * equal).sum() / (len(neg) * len(pos)))


def report(scores, labels, ms, sides):
    """scores: (photos, kinds). Prints the table described in the module docstring."""
    unedited = scores[:, 0]
    thresholds = [float(np.quantile(unedited, 1 - r, method="higher")) for r in FLAG_RATES]
    rates = " | ".join(f"flag@{r:.0%} real/fake" for r in FLAG_RATES)
    print(f"{(labels == 0).sum()} real and {(labels == 1).sum()} generated photos; thresholds flag "
          f"{', '.join(f'{r:.0%}' for r in FLAG_RATES)} of the unedited photos pooled")
    print(f"| edit kind | AUC real | AUC fake | {rates} |")
    print("|---|---|---|" + "---|" * len(FLAG_RATES))
    for k, kind in enumerate(KINDS):
        aucs = " | ".join("—" if k == 0 else f"{auc(unedited[labels == c], scores[labels == c, k]):.3f}" for c in (0, 1))
        flagged = " | ".join(
            "/".join(f"{np.mean(scores[labels == c, k] > t):.0%}" for c in (0, 1)) for t in thresholds)
        tag = " (held out)" if kind in edits.HELD_OUT else "" if kind in edits.RESAMPLING or k == 0 else " (no resampling)"
        print(f"| {kind}{tag} | {aucs} | {flagged} |")
    full = ms[sides == 1024]
    print(f"median cost per 1024² image: {np.median(full):.1f} ms (n = {full.size}; 90th percentile "
          f"{np.quantile(full, 0.9):.1f} ms)")


def fit(stats, labels, train):
    """Class-balanced logistic regression on the training photos -> constants for runtime/resampling.py."""
    positive = np.array([kind in RESAMPLED_FIT for kind in KINDS])
    use = np.array([kind in RESAMPLED_FIT or kind in ("unedited", "sharpen", "noise", "tone") for kind in KINDS])
    X = stats[train][:, use].reshape(-1, stats.shape[-1])
    y = np.broadcast_to(positive[use], (train.sum(), use.sum())).reshape(-1).astype(float)
    model = LogisticRegression(l2=1e-3).fit(X, y)
    fmt = lambda v: "np.array([" + ", ".join(f"{x:.4f}" for x in v) + "])"  # noqa: E731
    print(f"MEAN = {fmt(model.mean_)}\nSCALE = {fmt(model.scale_)}\nWEIGHTS = {fmt(model.coef_)}\n"
          f"BIAS = {model.intercept_:.4f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "seed-faces")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "model.json",
                        help="weights whose held-out split --held-out and --fit respect")
    parser.add_argument("--limit", type=int, metavar="N", help="the first N photos of each class only")
    parser.add_argument("--jobs", type=int, default=1, choices=(1, 2), help="processes (default: 1)")
    parser.add_argument("--held-out", action="store_true", help="report the weights' held-out photos only")
    parser.add_argument("--fit", action="store_true", help="refit the score's constants on the training photos")
    args = parser.parse_args(argv)
    items = discover([args.data])
    if args.limit:
        items = [it for c in (0, 1) for it in [it for it in items if it.label == c][:args.limit]]
    split = json.loads(args.weights.read_text())["provenance"]["split"]  # only the split: any weights version
    held = {it.path for it in held_out_items(args.data, split)}
    jobs = list(enumerate(it.path for it in items))
    with Pool(args.jobs) as pool:
        results = list(tqdm(pool.imap(measure, jobs), total=len(jobs), desc="photos", unit="photo"))
    labels = np.array([it.label for it in items])
    held_out = np.array([it.path in held for it in items])
    fill = np.full(4, np.nan)
    stats = np.array([[fill if s is None else s for s, *_ in rows] for rows in results])
    scores, ms, sides = (np.array([[row[j] for row in rows] for rows in results]) for j in (1, 2, 3))
    if args.fit:
        fit(stats, labels, ~held_out)
        return
    keep = held_out if args.held_out else np.ones(len(items), bool)
    report(scores[keep], labels[keep], ms[keep].ravel(), sides[keep].ravel())


if __name__ == "__main__":
    main()
