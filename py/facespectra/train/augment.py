"""Training-time transformations that remove the seed data's shortcuts.

The two classes differ in JPEG quality (real ~75, fake ~100) and a model learns that
instead of the generator. Every image is therefore also seen re-encoded at qualities
above and below both originals, downscaled and cropped, so neither compression nor
size separates the classes. A `Variant` is plain data: it names one transformation,
is part of the feature-cache key, and is derived from the image's content hash so a
run is reproducible.
"""

import hashlib
import io
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from ..runtime import decode
from ..runtime.resave import QUALITIES, jpeg_bytes
from .edits import apply_edit


@dataclass(frozen=True)
class Variant:
    """One transformation of a source image. Fields at their defaults mean "leave as is"."""

    quality: int = 0  # >0: re-save as JPEG at this quality (last step)
    side: int = 0  # >0: resize so the shorter side is this many pixels (after the crop)
    crop: float = 1.0  # <1: keep this fraction of each side...
    cx: float = 0.5  # ...centred here (0..1 of the free margin)
    cy: float = 0.5
    upsampler: str = ""  # non-empty: a synthetic fake made by upsamplers.synthesise(image, upsampler, seed, stages)
    seed: int = 0
    stages: int = 1  # the synthetic fake's up-sampling stages (x2 each); means nothing without an upsampler
    edit: str = ""  # non-empty: an everyday edit (edits.py spec), after the synthesis and before the crop

    @property
    def identity(self):
        return self == Variant()

    def key(self):
        fields = asdict(self)
        if not self.upsampler:
            del fields["stages"]  # not part of what a plain variant is
        if not self.edit:
            del fields["edit"]  # variants made before edits existed keep their cache keys
        return ",".join(f"{k}={v}" for k, v in fields.items())

    def label(self, source_label):
        return 1 if self.upsampler else source_label


def png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def crop(img, frac, cx=0.5, cy=0.5):
    w, h = img.size
    cw, ch = max(decode.MIN_SIDE, round(w * frac)), max(decode.MIN_SIDE, round(h * frac))
    left, top = round((w - cw) * cx), round((h - ch) * cy)
    return img.crop((left, top, left + cw, top + ch))


def downscale(img, side):
    """Shorter side to `side` pixels with an antialiased filter, as browsers and sites resize."""
    w, h = img.size
    if min(w, h) <= side:
        return img
    scale = side / min(w, h)
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)


def apply(data, variant):
    """Source file bytes -> the variant's file bytes (the original bytes for the identity)."""
    if variant.identity:
        return data
    img = decode.load(data, gray="mean")  # RGB: re-encoding must see colour as a camera or site would
    if variant.upsampler:
        from .upsamplers import synthesise

        img = synthesise(img, variant.upsampler, variant.seed, stages=variant.stages)
    if variant.edit:
        img = apply_edit(img, variant.edit)
    if variant.crop < 1.0:
        img = crop(img, variant.crop, variant.cx, variant.cy)
    if variant.side:
        img = downscale(img, variant.side)
    return jpeg_bytes(img, variant.quality) if variant.quality else png_bytes(img)


def image_rng(content_hash, seed):
    digest = hashlib.sha256(f"{content_hash}:{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass(frozen=True)
class AugmentPlan:
    """How many variants of each source image the trainer sees (plain data, stored in provenance)."""

    n_jpeg: int = 8  # full-size re-encodes at distinct random qualities from QUALITIES (8 of 9 won CV over 4)
    n_resized: int = 2  # cropped and/or downscaled, then re-encoded
    n_synthetic: int = 0  # synthetic fakes per *real* image (upsampled through a random network)
    max_stages: int = 3  # each synthetic fake has 1..max_stages up-sampling stages, as generators double many times
    keep_original: bool = True
    seed: int = 0

    def variants(self, content_hash, label):
        """The variants of one image, determined by its content hash and the plan's seed."""
        rng = image_rng(content_hash, self.seed)
        out = [Variant()] if self.keep_original else []
        qualities = rng.choice(QUALITIES, size=min(self.n_jpeg, len(QUALITIES)), replace=False)
        out += [Variant(quality=int(q)) for q in sorted(qualities)]
        for _ in range(self.n_resized):
            out.append(Variant(quality=int(rng.choice(QUALITIES)), side=int(rng.choice((256, 384, 512, 768))),
                               crop=float(np.round(rng.uniform(0.6, 1.0), 3)),
                               cx=float(np.round(rng.uniform(), 3)), cy=float(np.round(rng.uniform(), 3))))
        if label == 0:
            from .upsamplers import KINDS

            for _ in range(self.n_synthetic):
                out.append(Variant(quality=int(rng.choice(QUALITIES)), upsampler=str(rng.choice(KINDS)),
                                   seed=int(rng.integers(2**31)), stages=int(rng.integers(1, self.max_stages + 1))))
        return out
