"""Face finding's recall by face size, for finer looks of several sizes: seed portraits (../shared) pasted
in rows on textures, as tests/faces_scenes.py builds its scenes, faces from a third to a twenty-sixth of
the picture's width; also the false faces on the test textures and the CPython time of each choice
(the README's Faces table).

    python scripts/face_recall.py [SEED_FACES] [--fine 256 384 512]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "py"), str(ROOT / "tests")]

from conftest import SEED_DATA  # noqa: E402
from faces_scenes import matched, no_face_images, portrait, scene  # noqa: E402
from facespectra.runtime.faces import find_faces  # noqa: E402

SHARES = (3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26)  # the face box is 1/share of the width
SIZES = ((3000, 2000), (1600, 1200), (3000, 2000))  # three scenes per share


def scenes(seed_dir):
    """-> [(share, picture, expected face boxes)]: up to five portraits in a row per picture."""
    rng = np.random.default_rng(3)
    out = []
    for j, share in enumerate(SHARES):
        for rep, (w, h) in enumerate(SIZES):
            side = int(w / share / 0.6)  # the detector's box is 0.6 of a seed portrait's side
            if side > h:
                continue
            n = max(1, min(5, int((w - 100) / (side * 1.1))))
            lefts = np.linspace(20, w - side - 20, n).astype(int)
            tops = [int(max(0, min(h - side, h / 2 - side / 2 + rng.integers(-150, 150)))) for _ in range(n)]
            faces = [portrait(seed_dir, ("real", "fake")[(i + rep) % 2], 30 + i + 5 * j) for i in range(n)]
            img, expected = scene(faces, [(left, top, side) for left, top in zip(lefts.tolist(), tops)],
                                  size=(w, h), seed=j * 3 + rep)
            out.append((share, img, expected))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seed_faces", nargs="?", type=Path, default=SEED_DATA)
    parser.add_argument("--fine", nargs="+", type=int, default=[256, 384, 512], help="finer look sizes (px)")
    args = parser.parse_args(argv)
    made = scenes(args.seed_faces)
    textures = list(no_face_images())
    for fine in args.fine:
        found, total, seconds = {}, {}, 0.0
        for share, img, expected in made:
            t = time.perf_counter()
            faces = find_faces(img, fine=fine)
            seconds += time.perf_counter() - t
            found[share] = found.get(share, 0) + sum(matched(faces, expected))
            total[share] = total.get(share, 0) + len(expected)
        false = sum(len(find_faces(img, fine=fine)) for img in textures)
        print(f"finer look {fine} px: {seconds:.2f} s; false faces on {len(textures)} textures: {false}; found "
              + " ".join(f"1/{s}: {found[s]}/{total[s]}" for s in SHARES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
