"""Everyday edits: what phones and social networks do to a photo before anyone checks it.

Cropping and resizing back, enlarging, straightening, resizing down and back up, sharpening, noise and
tone changes. Resampling erases a generator's traces and sharpening or noise adds fine detail to real
photos, so the verdict rule is fitted over these edits (FITTED) and judged on edits it never saw
(HELD_OUT: a whole kind, and a range beyond the fitted one), each then saved as JPEG at q70-95 as a
site would. An edit is plain data: a spec string "kind:param:param" drawn from the image's content
hash, part of the feature-cache key, applied to the decoded RGB picture.
"""

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

FILTERS = {"lanczos": Image.LANCZOS, "bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}
FITTED = ("crop", "enlarge", "rotate", "downup", "sharpen", "noise", "tone")
HELD_OUT = ("blur", "enlarge_wide")  # a kind and a parameter range the rule is never fitted on
RESAMPLING = ("crop", "enlarge", "rotate", "downup", "enlarge_wide")  # edits that resample every pixel
QUALITY_RANGE = (70, 95)


def draw(kind, rng):
    """A random edit of `kind` -> its spec string (parameters rounded so the cache key is stable)."""
    filt = str(rng.choice(list(FILTERS)))
    if kind == "crop":
        return f"crop:{rng.uniform(0.60, 0.95):.3f}:{rng.uniform():.3f}:{rng.uniform():.3f}:{filt}"
    if kind == "enlarge":
        return f"enlarge:{rng.uniform(1.05, 1.6):.3f}:{filt}"
    if kind == "enlarge_wide":
        return f"enlarge:{rng.uniform(1.6, 2.2):.3f}:{filt}"
    if kind == "rotate":
        return f"rotate:{rng.choice((-1, 1)) * rng.uniform(1.0, 8.0):.2f}:{str(rng.choice(['bicubic', 'bilinear']))}"
    if kind == "downup":
        return f"downup:{rng.uniform(0.5, 0.9):.3f}:{filt}"
    if kind == "sharpen":
        return f"sharpen:{rng.uniform(0.8, 2.5):.2f}:{int(rng.integers(50, 151))}"
    if kind == "noise":
        return f"noise:{rng.uniform(1.5, 5.0):.2f}:{int(rng.integers(2**31))}"
    if kind == "tone":
        return (f"tone:{rng.uniform(0.8, 1.25):.3f}:{rng.uniform(0.8, 1.25):.3f}:{rng.uniform(0.8, 1.25):.3f}")
    if kind == "blur":
        return f"blur:{rng.uniform(0.5, 3.0):.2f}"
    raise ValueError(f"unknown edit kind {kind!r}")


def kind_of(spec):
    """The edit kind a spec was drawn as, for reports ("enlarge" specs above ×1.6 are the held-out range)."""
    name, *params = spec.split(":")
    return "enlarge_wide" if name == "enlarge" and float(params[0]) > 1.6 else name


def apply_edit(img, spec):
    """RGB Pillow image -> the edited image."""
    name, *p = spec.split(":")
    w, h = img.size
    if name == "crop":
        frac, cx, cy = float(p[0]), float(p[1]), float(p[2])
        cw, ch = round(w * frac), round(h * frac)
        left, top = round((w - cw) * cx), round((h - ch) * cy)
        return img.crop((left, top, left + cw, top + ch)).resize((w, h), FILTERS[p[3]])
    if name == "enlarge":
        s = float(p[0])
        return img.resize((round(w * s), round(h * s)), FILTERS[p[1]])
    if name == "rotate":
        return _straightened(img, float(p[0]), FILTERS[p[1]])
    if name == "downup":
        s = float(p[0])
        return img.resize((round(w * s), round(h * s)), FILTERS[p[1]]).resize((w, h), FILTERS[p[1]])
    if name == "sharpen":
        return img.filter(ImageFilter.UnsharpMask(radius=float(p[0]), percent=int(p[1]), threshold=2))
    if name == "noise":
        rng = np.random.default_rng(int(p[1]))
        a = np.asarray(img, dtype=np.float32) + rng.normal(0.0, float(p[0]), (h, w, 3)).astype(np.float32)
        return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "RGB")
    if name == "tone":
        img = ImageEnhance.Brightness(img).enhance(float(p[0]))
        img = ImageEnhance.Contrast(img).enhance(float(p[1]))
        lut = [round(255 * (i / 255) ** float(p[2])) for i in range(256)]
        return img.point(lut * 3)
    if name == "blur":
        return img.filter(ImageFilter.GaussianBlur(float(p[0])))
    raise ValueError(f"unknown edit {spec!r}")


def _straightened(img, degrees, resample):
    """Rotated by `degrees`, cropped to the largest upright rectangle of the same shape inside it, and
    resized back to the original size, as a phone's "straighten" does."""
    w, h = img.size
    rotated = img.rotate(degrees, resample=resample, expand=False)
    a = np.radians(abs(degrees))
    shrink = min(w / (w * np.cos(a) + h * np.sin(a)), h / (w * np.sin(a) + h * np.cos(a)))
    cw, ch = int(w * shrink), int(h * shrink)
    left, top = (w - cw) // 2, (h - ch) // 2
    return rotated.crop((left, top, left + cw, top + ch)).resize((w, h), resample)
