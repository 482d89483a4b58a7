"""How often weights call synthetic up-sampled fakes "likely generated" (and, wrongly, "likely real"),
per up-sampler family, depth and JPEG quality, by the weights' own verdict rule (the whole picture,
with its pixels' resampling and fine detail and the CNN's opinion, as classify.judge reads a file; no face
finding).

The fakes are made from the real photos of the weights' own held-out split (the split stored in
their provenance), so neither the photos nor any variant of them was seen in training; one random
network per photo and up-sampling stage count (the trainer draws 1-3 stages per fake, with its own
networks). These are the training families on new photos, not new generators.

    python scripts/synthetic_recall.py [DATA] [--weights weights/model.json] [--stages 1 2 3]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py"))

from facespectra.runtime import decode  # noqa: E402
from facespectra.train.augment import jpeg_bytes, png_bytes  # noqa: E402
from facespectra.runtime.classify import graphics_score, judge, resampling_score  # noqa: E402
from facespectra.runtime.cnn import opinion  # noqa: E402
from facespectra.runtime.inputflags import header_facts  # noqa: E402
from facespectra.runtime.model import SpectralModel  # noqa: E402
from facespectra.runtime.spectrum import extract_with_image  # noqa: E402
from facespectra.train.train import held_out_items  # noqa: E402
from facespectra.train.upsamplers import KINDS, synthesise  # noqa: E402

QUALITIES = (0, 95, 85, 75)  # 0: PNG
SEED = 1000  # network seeds SEED + i: not the trainer's, which come from each file's content hash


def held_out_reals(data, model):
    return [it.path for it in held_out_items(data, model.provenance["split"]) if it.label == 0]


def recall(paths, model, kind, qualities=QUALITIES, stages=1):
    """{quality: (share called generated, share called real)} of the photos' synthetic fakes (kind, stages)
    saved at that quality (0: PNG). Each photo's fake is made once and saved at every quality."""
    called = {q: [] for q in qualities}
    for i, path in enumerate(paths):
        fake = synthesise(decode.load(path.read_bytes(), gray="mean"), kind, SEED + i, stages=stages)
        for q in qualities:
            data = jpeg_bytes(fake, q) if q else png_bytes(fake)
            img, features = extract_with_image(data, model.config)
            called[q].append(judge(features, *header_facts(data), model, None, resampling_score(img, model),
                                   opinion(img, model.cnn), graphics_score(img, model))[0])
    return {q: (float(np.mean(np.array(v) == "fake")), float(np.mean(np.array(v) == "real"))) for q, v in called.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "seed-faces")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "model.json")
    parser.add_argument("--stages", type=int, nargs="+", default=[1], choices=(1, 2, 3),
                        help="up-sampling stages (×2 each) per fake (default: 1)")
    args = parser.parse_args(argv)
    model = SpectralModel.load(args.weights)
    paths = held_out_reals(args.data, model)
    print(f"{len(paths)} held-out real photos; share of their synthetic fakes called generated / called real:")
    print("| up-sampler | stages | " + " | ".join(f"JPEG q{q}" if q else "PNG" for q in QUALITIES) + " |")
    for stages in args.stages:
        for kind in KINDS:
            shares = recall(paths, model, kind, QUALITIES, stages)
            print(f"| {kind} | {stages} (×{2 ** stages}) | " + " | ".join(f"{100 * shares[q][0]:.1f} / {100 * shares[q][1]:.1f}%" for q in QUALITIES)
                  + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
