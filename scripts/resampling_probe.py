"""How well runtime/resampling.score tells edited photos from unedited ones, per edit kind and class.

Every seed photo (real and generated) gives an unedited copy and one copy per edit kind of
train/edits.py (FITTED and HELD_OUT), each re-saved as JPEG at a random quality 70-95, so both classes
meet the score at the same qualities. Printed per kind and class: the AUC against the unedited photos
of the same class, and the share flagged at the score thresholds that flag 1%, 5% and 10% of the
unedited photos of both classes pooled; then the median cost per 1024² image.

    python scripts/resampling_probe.py [DATA] [--limit N] [--jobs 2]
"""

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py"))

from facespectra.runtime import decode, resampling, resave  # noqa: E402
from facespectra.train import edits  # noqa: E402
from facespectra.train.dataset import discover  # noqa: E402

KINDS = ("unedited",) + edits.FITTED + edits.HELD_OUT
FLAG_RATES = (0.01, 0.05, 0.10)
SEED = 23


def measure(job):
    """(index, path) -> per kind: (score, ms, shorter side) of the edited photo after a JPEG re-save."""
    index, path = job
    rgb = decode.load(path.read_bytes(), gray="mean")
    rows = []
    for k, kind in enumerate(KINDS):
        rng = np.random.default_rng([SEED, index, k])
        img = rgb if kind == "unedited" else edits.apply_edit(rgb, edits.draw(kind, rng))
        luma = decode.load(resave.jpeg_bytes(img, int(rng.integers(70, 96))), gray="luma")
        start = time.perf_counter()
        value = resampling.score(luma)
        rows.append((value, (time.perf_counter() - start) * 1e3, min(luma.size)))
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
    print(f"{(labels == 0).sum()} real and {(labels == 1).sum()} generated photos; the score thresholds "
          f"{', '.join(f'{t:.2f}' for t in thresholds)} flag {', '.join(f'{r:.0%}' for r in FLAG_RATES)} of the "
          f"unedited photos pooled (unedited median {np.median(unedited):.2f})")
    print(f"| edit kind | AUC real | AUC fake | {rates} |")
    print("|---|---|---|" + "---|" * len(FLAG_RATES))
    for k, kind in enumerate(KINDS):
        aucs = " | ".join("—" if k == 0 else f"{auc(unedited[labels == c], scores[labels == c, k]):.3f}" for c in (0, 1))
        flagged = " | ".join(
            "/".join(f"{np.mean(scores[labels == c, k] > t):.0%}" for c in (0, 1)) for t in thresholds)
        tag = " (held out)" if kind in edits.HELD_OUT else "" if kind in edits.RESAMPLING or k == 0 else " (no resampling)"
        print(f"| {kind}{tag} | {aucs} | {flagged} |")
    full = ms[sides == 1024]
    print(f"cost per 1024² image: median {np.median(full):.1f} ms, fastest {full.min():.1f} ms, 90th percentile "
          f"{np.quantile(full, 0.9):.1f} ms (n = {full.size}; the spread is other load on the machine)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "seed-faces")
    parser.add_argument("--limit", type=int, metavar="N", help="the first N photos of each class only")
    parser.add_argument("--jobs", type=int, default=1, choices=(1, 2), help="processes (default: 1)")
    args = parser.parse_args(argv)
    items = discover([args.data])
    if args.limit:
        items = [it for c in (0, 1) for it in [it for it in items if it.label == c][:args.limit]]
    jobs = list(enumerate(it.path for it in items))
    with Pool(args.jobs) as pool:
        results = list(tqdm(pool.imap(measure, jobs), total=len(jobs), desc="photos", unit="photo"))
    labels = np.array([it.label for it in items])
    scores, ms, sides = (np.array([[row[j] for row in rows] for rows in results]) for j in range(3))
    report(scores, labels, ms.ravel(), sides.ravel())


if __name__ == "__main__":
    main()
