"""Confident errors of the weights' verdicts on the held-out photos after everyday edits: re-saves, other
formats, turning, light changes, noise, padding, plain crops and downscales (one blurred first), drawn
graphics (a caption, a label, a picture in the picture), and the trainer's edits matrix (train/edits.py:
crop and resize back, enlarge, straighten, down and up, sharpen, noise, tone, and the kinds the rule was
never fitted on), each drawn per photo as the trainer's conditions draw it (the model card's "Everyday
edits").

The photos are the weights' own held-out split (stored in their provenance), real and generated; each
edit is judged as `facespectra predict` judges a file (runtime.classify.classify_bytes, faces included).
Each row gives n, the confident errors and their 95% upper bound (train/bounds.py), and coverage.

    python scripts/edits_probe.py [DATA] [--weights weights/model.json] [--edits NAME ...]
"""

import argparse
import io
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py"))

from facespectra.runtime.classify import classify_bytes  # noqa: E402
from facespectra.runtime.model import SpectralModel  # noqa: E402
from facespectra.train.augment import apply  # noqa: E402
from facespectra.train.bounds import upper_bound  # noqa: E402
from facespectra.train.edits import FITTED, HELD_OUT  # noqa: E402
from facespectra.train.evaluate import condition_variant  # noqa: E402
from facespectra.train.featcache import file_hash  # noqa: E402
from facespectra.train.train import held_out_items  # noqa: E402


def saved(img, fmt="JPEG", **options):
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" and not options else options))
    return buf.getvalue()


def padded(img):
    frame = Image.new("RGB", (img.width + 276, img.height + 76), (120, 110, 100))
    frame.paste(img, (150, 40))
    return frame


def centre_crop(img, share):
    """The middle `share` of each side, not resized: fewer pixels, each as it was."""
    w, h = round(img.width * share), round(img.height * share)
    left, top = (img.width - w) // 2, (img.height - h) // 2
    return img.crop((left, top, left + w, top + h))


def drawn(img, shapes):
    """A copy with flat graphics drawn over it, as captions, labels and stickers are."""
    img = img.copy()
    shapes(ImageDraw.Draw(img))
    return img


def caption(draw):
    draw.rectangle((0, 700, 1023, 780), fill=(0, 0, 0))
    draw.text((40, 730), "Breaking news: something happened today", fill=(255, 255, 255))


def inset(img):
    """Picture in picture: the photo itself, 400 px, pasted with hard edges left of the middle."""
    out = img.copy()
    out.paste(img.resize((400, 400), Image.LANCZOS), ((img.width - 400) // 3, (img.height - 400) // 2))
    return out


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
    "cropped to 80%": lambda img, raw: saved(centre_crop(img, 0.8)),
    "cropped to 60%": lambda img, raw: saved(centre_crop(img, 0.6)),
    "downscaled to 800 px": lambda img, raw: saved(img.resize((800, 800), Image.LANCZOS)),
    "blurred 3 px, downscaled to 800 px": lambda img, raw: saved(img.filter(ImageFilter.GaussianBlur(3))
                                                                .resize((800, 800), Image.LANCZOS)),
    "caption bar with text": lambda img, raw: saved(drawn(img, caption)),
    "white label": lambda img, raw: saved(drawn(img, lambda d: d.rectangle((600, 150, 800, 270), fill=(255,) * 3))),
    "picture in picture": lambda img, raw: saved(inset(img)),
    "512 px, enlarged to 768": lambda img, raw: saved(img.resize((512, 512), Image.LANCZOS).resize((768, 768),
                                                                                                 Image.BICUBIC)),
}
# the trainer's edits matrix: name -> condition, drawn per photo from its content hash
MATRIX = {f"{kind}{' (not fitted on)' if kind in HELD_OUT else ''}": f"edit_{kind}" for kind in FITTED + HELD_OUT}


def _cell(errors, n):
    return f"{errors}/{n} ≤{100 * upper_bound(errors, n):.1f}%"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "seed-faces")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "model.json")
    parser.add_argument("--edits", nargs="+", choices=[*EDITS, *MATRIX], default=[*EDITS, *MATRIX], metavar="NAME",
                        help="edits to run (default: all)")
    args = parser.parse_args(argv)
    model = SpectralModel.load(args.weights)
    items = held_out_items(args.data, model.provenance["split"])
    photos = [(it.path.read_bytes(), it.label, file_hash(it.path)) for it in items]
    decoded = [Image.open(io.BytesIO(raw)).convert("RGB") for raw, _, _ in photos]
    n_real = sum(label == 0 for _, label, _ in photos)
    print(f"{len(photos)} held-out photos ({n_real} real, {len(photos) - n_real} generated)")
    print("| edit | real called generated (95% bound) | generated called real (95% bound) | decided real / generated |")
    print("| --- | --- | --- | --- |")
    for name in args.edits:
        counts = (Counter(), Counter())
        for (raw, label, content_hash), img in zip(photos, decoded):
            data = (apply(raw, condition_variant(MATRIX[name], content_hash)) if name in MATRIX
                    else EDITS[name](img, raw))
            counts[label][classify_bytes(data, model)["verdict"]] += 1
        n0, n1 = sum(counts[0].values()), sum(counts[1].values())
        print(f"| {name} | {_cell(counts[0]['fake'], n0)} | {_cell(counts[1]['real'], n1)} "
              f"| {100 * (counts[0]['real'] + counts[0]['fake']) / n0:.0f}% / "
              f"{100 * (counts[1]['real'] + counts[1]['fake']) / n1:.0f}% |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
