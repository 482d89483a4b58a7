#!/usr/bin/env python3
"""Choose the CNN features' input size, stages and pooling (runtime/effnet.py) by cross-validation and cost.

    python scripts/effnet_choice.py [--data ../shared/data/seed-faces] [--cache /tmp/effnet_choice]

Every seed face is run through EfficientNet-Lite0 in three conditions: as distributed, re-saved at JPEG
q75, and downscaled to 512 px then re-saved at q75 (both classes alike, so that the fakes' higher JPEG
quality cannot separate them), on each input: the centre window of the image at its own resolution
(effnet.prepare) of 160, 224 and 320 px in colour and of 224 px on luma, and the whole face resized to 224
px on luma. The spatial mean and standard deviation of every stage's output are cached. Then, for each option (size,
colour, stages, pooling), a logistic regression (the project's solver) is fitted by 4-fold
cross-validation by image on the images the shipped weights trained on (the held-out ones take no part
in any choice), on all three conditions together, and scored by AUC in each. Prints the table, with the
network's CPython ms per image at each size (one thread).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # a busy 2-core host: threaded BLAS is several times slower

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "py"), str(ROOT / "tests")]

from conftest import SEED_DATA  # noqa: E402
from facespectra.runtime import decode, effnet  # noqa: E402
from scripts import effnet as convert  # noqa: E402
from facespectra.train.dataset import discover  # noqa: E402
from facespectra.train.evaluate import auc  # noqa: E402
from facespectra.train.logistic import LogisticRegression  # noqa: E402
from facespectra.train.search import stratified_folds  # noqa: E402
from facespectra.train.train import split_items  # noqa: E402

CONDITIONS = ("as distributed", "q75", "512 q75")
# (size, decode.load's gray=, "window": effnet.prepare's centre window at the image's resolution, or "resized")
INPUTS = ((160, "mean", "window"), (224, "mean", "window"), (320, "mean", "window"), (224, "luma", "window"),
          (224, "luma", "resized"))
STAGE_SETS = {"head": (8,), "6-7+head": (6, 7, 8), "4-7+head": (4, 5, 6, 7, 8), "3-7+head": (3, 4, 5, 6, 7, 8),
              "all": (1, 2, 3, 4, 5, 6, 7, 8), "3-5": (3, 4, 5), "3-6": (3, 4, 5, 6), "4-6": (4, 5, 6), "3-7": (3, 4, 5, 6, 7)}
POOLINGS = ("mean", "mean+std")
# Every option at 224 px in colour; the other inputs only with the options that matter there (a fit on
# 4000 features takes a minute on a busy host).
OTHER_OPTIONS = (("head", "mean"), ("3-7+head", "mean"), ("3-7+head", "mean+std"), ("all", "mean+std"), ("3-7", "mean"),
                 ("3-6", "mean"), ("3-6", "mean+std"), ("4-6", "mean"), ("3-5", "mean"))
FOLDS, SEED = 4, 0
L2 = 1e-2


def condition_bytes(data, condition):
    """The image's bytes in one condition (re-encoded from its colour decode)."""
    if condition == "as distributed":
        return data
    img = decode.load(data, gray="mean")
    if condition == "512 q75":
        img = img.resize((512, 512), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=75)
    return buf.getvalue()


def resized(img, size):
    """The whole image's centre square resized to size×size, scaled for the network (the alternative to
    effnet.prepare's window)."""
    w, h = img.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    x = np.asarray(img.resize((size, size), Image.BILINEAR, box=box), dtype=np.float32)
    x = np.repeat(x[:, :, None], 3, axis=2) if x.ndim == 2 else x
    return (x - effnet.MEAN) / effnet.STD


def extract(items, size, gray, view, cache):
    """{stage: (mean, std) arrays of shape (images, conditions, C)} and the median ms of the network,
    cached in `cache`."""
    path = cache / f"{size}_{gray}_{view}.npz"
    if path.exists():
        with np.load(path) as z:
            return {s: (z[f"m{s}"], z[f"s{s}"]) for s in range(1, 9)}, float(z["ms"])
    net = effnet.Network.load(effnet.WEIGHTS, convert.TOP)  # stages 7 and the head too
    rows, times = [], []
    for n, item in enumerate(items):
        data = item.path.read_bytes()
        per_condition = []
        for condition in CONDITIONS:
            img = decode.load(condition_bytes(data, condition), gray=gray)
            x = effnet.prepare(img, size) if view == "window" else resized(img, size)
            t = time.perf_counter()
            out = net.stage_outputs(x, tuple(range(1, 9)))
            times.append((time.perf_counter() - t) * 1000)
            per_condition.append({s: effnet.pooled({s: y}, spread=True) for s, y in out.items()})
        rows.append(per_condition)
        if n % 50 == 0:
            print(f"  {size} {gray} {view}: {n}/{len(items)}, {statistics.median(times):.0f} ms", file=sys.stderr)
    stats = {}
    for s in range(1, 9):
        v = np.array([[r[c][s] for c in range(len(CONDITIONS))] for r in rows], dtype=np.float32)
        half = v.shape[-1] // 2
        stats[s] = (v[..., :half], v[..., half:])
    ms = statistics.median(times)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, ms=ms, **{f"m{s}": m for s, (m, _) in stats.items()}, **{f"s{s}": sd for s, (_, sd) in stats.items()})
    return stats, ms


def design(stats, stages, pooling):
    """(images, conditions, features) for one option."""
    parts = []
    for s in stages:
        mean, std = stats[s]
        parts += [mean, std] if pooling == "mean+std" else [mean]
    return np.concatenate(parts, axis=-1).astype(np.float64)


def cv_aucs(X, labels, folds):
    """Out-of-fold AUC in each condition: trained on every condition of the other folds' images."""
    scores = np.zeros(X.shape[:2])
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        clf = LogisticRegression(l2=L2, max_iter=3000, tol=1e-5)
        clf.fit(X[train].reshape(-1, X.shape[-1]), np.repeat(labels[train], X.shape[1]))
        scores[test] = clf.decision_function(X[test].reshape(-1, X.shape[-1])).reshape(-1, X.shape[1])
    return [auc(labels, scores[:, c]) for c in range(X.shape[1])]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SEED_DATA)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/effnet_choice"))
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "model.json",
                        help="weights whose held-out split is left out of the choice")
    parser.add_argument("--input", action="append", metavar="SIZE:GRAY:VIEW", help="only these inputs, e.g. "
                        "224:luma:window (repeatable; default: all of " + ", ".join(":".join(map(str, i)) for i in INPUTS)
                        + ")")
    args = parser.parse_args(argv)
    inputs = [(int(v.split(":")[0]), *v.split(":")[1:3]) for v in args.input] if args.input else INPUTS
    items = discover([args.data])
    labels = np.array([it.label for it in items])
    split = json.loads(args.weights.read_text())["provenance"]["split"]
    held_out = split_items(labels, split["test_fraction"], split["seed"])
    folds = stratified_folds(labels, FOLDS, SEED, include=~held_out)
    train = ~held_out
    print(f"{train.sum()} training images ({labels[train].sum()} fake), {held_out.sum()} held out and unused; "
          f"{FOLDS}-fold CV by image, L2 {L2}")
    print(f"{'size':>4s} {'view':8s} {'colour':6s} {'stages':9s} {'pooling':8s} {'dims':>5s} "
          + " ".join(f"{c:>14s}" for c in CONDITIONS) + f" {'net ms':>7s}")
    extracted = {i: extract(items, *i, args.cache) for i in inputs}
    results = []
    for (size, gray, view), (stats, ms) in extracted.items():
        options = ([(n, p) for n in STAGE_SETS for p in POOLINGS] if (size, gray, view) == (224, "mean", "window")
                   else OTHER_OPTIONS)
        for name, pooling in options:
            X = design(stats, STAGE_SETS[name], pooling)[train]
            aucs = cv_aucs(X, labels[train], folds[train])
            colour = "RGB" if gray == "mean" else "luma"
            results.append((size, f"{view} {colour}", name, pooling, X.shape[-1], aucs, ms))
            print(f"{size:4d} {view:8s} {colour:6s} {name:9s} {pooling:8s} {X.shape[-1]:5d} "
                  + " ".join(f"{a:14.3f}" for a in aucs) + f" {ms:7.1f}", flush=True)
    best = max(results, key=lambda r: np.mean(r[5]))
    print(f"\nbest mean AUC over the conditions: {best[0]} px {best[1]}, {best[2]}, {best[3]} "
          f"({np.mean(best[5]):.3f})")


if __name__ == "__main__":
    main()
