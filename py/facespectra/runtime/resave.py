"""JPEG re-saves: the augmentation the trainer and the page's Teach panel both apply to every example.

Real and generated examples usually differ in how they were compressed; a model taught on them as
they are learns the compression, not the generator. Seeing each example also re-saved at qualities
above and below both originals takes that shortcut away. numpy, Pillow and the standard library
only: the page runs this module in Pyodide.
"""

import hashlib
import io
import random

from . import decode

QUALITIES = (60, 65, 70, 75, 80, 85, 90, 95, 100)


def jpeg_bytes(img, quality):
    """Re-encode as baseline JPEG with Pillow's default 4:2:0 chroma subsampling, as most cameras and sites do."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def resaves(data, qualities):
    """File bytes -> the same picture re-saved as JPEG at each quality, decoded once, in colour as a site would."""
    img = decode.load(data, gray="mean")
    return [jpeg_bytes(img, q) for q in qualities]


def qualities_for(data, n):
    """`n` distinct qualities for one file, fixed by its content, so teaching twice gives the same model."""
    rng = random.Random(hashlib.sha256(data).digest())
    return sorted(rng.sample(QUALITIES, min(n, len(QUALITIES))))
