"""Confident errors of the weights' verdicts on the held-out photos after everyday edits: re-saves, other
formats, turning, light changes, noise, padding, enlarging (the model card's "Everyday edits" table).

The photos are the weights' own held-out split (stored in their provenance), real and generated; each
edit is judged as `facespectra predict` judges a file (runtime.classify.classify_bytes, faces included).

    python scripts/edits_probe.py [DATA] [--weights weights/model.json] [--edits NAME ...]
"""

import argparse
import io
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py"))

from facespectra.runtime.classify import classify_bytes  # noqa: E402
from facespectra.runtime.model import SpectralModel  # noqa: E402
from facespectra.train.train import held_out_items  # noqa: E402


def saved(img, fmt="JPEG", **options):
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" and not options else options))
    return buf.getvalue()


def padded(img):
    frame = Image.new("RGB", (img.width + 276, img.height + 76), (120, 110, 100))
    frame.paste(img, (150, 40))
    return frame


def noisy(img, seed=0):
    a = np.asarray(img, dtype=np.int16)
    return Image.fromarray(np.clip(a + np.random.default_rng(seed).integers(-6, 7, a.shape), 0, 255).astype(np.uint8))


EDITS = {  # name -> the edited file's bytes from the decoded photo (RGB) and its original bytes
    "as distributed": lambda img, raw: raw,
    "progressive q90": lambda img, raw: saved(img, quality=90, progressive=True),
    "q95 4:4:4": lambda img, raw: saved(img, quality=95, subsampling=0),
    "q80": lambda img, raw: saved(img, quality=80),
    "PNG": lambda img, raw: saved(img, "PNG"),
    "TIFF": lambda img, raw: saved(img, "TIFF"),
    "BMP": lambda img, raw: saved(img, "BMP"),
    "GIF": lambda img, raw: saved(img, "GIF"),
    "lossless WebP": lambda img, raw: saved(img, "WEBP", lossless=True),
    "lossy WebP q85": lambda img, raw: saved(img, "WEBP", quality=85),
    "lossy WebP q95": lambda img, raw: saved(img, "WEBP", quality=95),
    "mirrored": lambda img, raw: saved(img.transpose(Image.FLIP_LEFT_RIGHT)),
    "turned 90°": lambda img, raw: saved(img.transpose(Image.ROTATE_90)),
    "brighter": lambda img, raw: saved(ImageEnhance.Brightness(img).enhance(1.2)),
    "sharpened": lambda img, raw: saved(img.filter(ImageFilter.UnsharpMask(2, 80, 2))),
    "blurred 0.6 px": lambda img, raw: saved(img.filter(ImageFilter.GaussianBlur(0.6))),
    "noise ±6 levels": lambda img, raw: saved(noisy(img)),
    "padded": lambda img, raw: saved(padded(img)),
    "enlarged ×1.25": lambda img, raw: saved(img.resize((round(img.width * 1.25), round(img.height * 1.25)),
                                                        Image.LANCZOS)),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "seed-faces")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "model.json")
    parser.add_argument("--edits", nargs="+", choices=list(EDITS), default=list(EDITS), metavar="NAME",
                        help="edits to run (default: all)")
    args = parser.parse_args(argv)
    model = SpectralModel.load(args.weights)
    photos = [(it.path.read_bytes(), it.label) for it in held_out_items(args.data, model.provenance["split"])]
    decoded = [Image.open(io.BytesIO(raw)).convert("RGB") for raw, _ in photos]
    n_real = sum(label == 0 for _, label in photos)
    print(f"{len(photos)} held-out photos ({n_real} real, {len(photos) - n_real} generated)")
    print(f"{'edit':18s} real called generated / generated called real; verdicts (real photos | generated)")
    for name in args.edits:
        counts = (Counter(), Counter())
        for (raw, label), img in zip(photos, decoded):
            counts[label][classify_bytes(EDITS[name](img, raw), model)["verdict"]] += 1
        print(f"{name:18s} {counts[0]['fake']} / {counts[1]['real']}; {dict(counts[0])} | {dict(counts[1])}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
