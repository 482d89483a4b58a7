"""How often weights call synthetic up-sampled fakes fake, per up-sampler family and JPEG quality.

The fakes are made from the real photos of the weights' own held-out split (the split stored in
their provenance), so neither the photos nor any variant of them was seen in training; one random
network per photo, as the trainer makes them. The weights card (weights/README.md) quotes this.

    python scripts/synthetic_recall.py [DATA] [--weights weights/model.json]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py"))

from facespectra.augment import Variant, apply  # noqa: E402
from facespectra.dataset import discover  # noqa: E402
from facespectra.model import SpectralModel  # noqa: E402
from facespectra.spectrum import extract  # noqa: E402
from facespectra.train import split_items  # noqa: E402
from facespectra.upsamplers import KINDS  # noqa: E402

QUALITIES = (0, 95, 85, 75)  # 0: PNG
SEED = 1000  # network seeds SEED + i: not the trainer's, which come from each file's content hash


def held_out_reals(data, model):
    split = model.provenance["split"]
    items = discover([data])
    test = split_items(np.array([it.label for it in items]), split["test_fraction"], split["seed"])
    return [it.path for it, held_out in zip(items, test) if held_out and it.label == 0]


def recall(paths, model, kind, quality):
    """Share of the photos whose synthetic fake (kind, re-saved at quality) the model calls fake."""
    called = []
    for i, path in enumerate(paths):
        fake = apply(path.read_bytes(), Variant(upsampler=kind, seed=SEED + i, quality=quality))
        called.append(model.predict_proba(extract(fake, model.config))[0, 1] >= model.threshold)
    return float(np.mean(called))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "seed-faces")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "model.json")
    args = parser.parse_args(argv)
    model = SpectralModel.load(args.weights)
    paths = held_out_reals(args.data, model)
    print(f"{len(paths)} held-out real photos; share of their synthetic fakes called fake:")
    print("| up-sampler | " + " | ".join(f"JPEG q{q}" if q else "PNG" for q in QUALITIES) + " |")
    for kind in KINDS:
        print(f"| {kind} | " + " | ".join(f"{100 * recall(paths, model, kind, q):.1f}%" for q in QUALITIES) + " |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
