"""Untrusted image bytes -> a validated, upright, 8-bit Pillow image (mode "L" or "RGB").

This is the one validation path shared by the page, the CLI and the trainer.
Limits are checked from the header before any pixel is decoded, so a small file
that claims 30000x30000 pixels never reaches the decoder.

Grayscale "luma" is taken from the decoder itself where the format stores it
(JPEG's Y channel, via draft mode). That skips chroma upsampling, which differs
between libjpeg-turbo (CPython's Pillow wheels) and IJG libjpeg 9 (Pyodide's
Pillow): both runtimes then see identical pixels.
"""

import io
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps

from .errors import InputError

MAX_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 64
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO")
BACKGROUND = 255  # alpha is composited on white, a fixed choice so results never depend on the viewer


def _mib(n):
    return f"{n / (1024 * 1024):.0f} MiB"


def _sniff(data):
    """A friendly name for common non-image files, so the message says what the file is."""
    signatures = {
        b"%PDF": "a PDF document",
        b"PK\x03\x04": "a ZIP archive (or Office document)",
        b"\x1f\x8b": "a gzip archive",
        b"\x00\x00\x00\x18ftyp": "a video or HEIC file",
        b"\x00\x00\x00\x1cftyp": "a video or HEIC file",
        b"\x00\x00\x00 ftyp": "a video or HEIC file",
    }
    for magic, what in signatures.items():
        if data.startswith(magic):
            return what
    head = data[:256].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        return "a text document (HTML/XML/SVG)"
    return None


def open_image(data):
    """Open from the header only and enforce the byte, pixel and format limits."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError("input is not file bytes")
    size = len(data)
    if size == 0:
        raise InputError("file is empty (0 bytes)")
    if size > MAX_BYTES:
        raise InputError(f"file is {_mib(size)}; the limit is {_mib(MAX_BYTES)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(bytes(data)), formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InputError(f"image has more pixels than the limit of {MAX_PIXELS:,}") from None
    except Exception:
        what = _sniff(bytes(data[:256]))
        if what:
            raise InputError(f"not an image: the file is {what}") from None
        raise InputError(
            "not a readable image (supported: " + ", ".join(ALLOWED_FORMATS[:-1]) + ")"
        ) from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise InputError(f"image is {w}×{h} pixels; the limit is {MAX_PIXELS:,} pixels")
    if min(w, h) < MIN_SIDE:
        raise InputError(f"image is {w}×{h} pixels; the smallest side must be at least {MIN_SIDE}")
    return img


def _to_8bit(img):
    """16-bit and float images scaled to 0..255 (Pillow's convert would clip them instead)."""
    arr = np.asarray(img)
    if img.mode == "F":
        lo, hi = np.nanmin(arr), np.nanmax(arr)
        scaled = np.zeros_like(arr) if not np.isfinite(hi - lo) or hi <= lo else (arr - lo) / (hi - lo) * 255.0
    else:
        scaled = arr.astype(np.float64) / (257.0 if arr.max(initial=0) > 255 or img.mode.startswith("I;16") else 1.0)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")


def _normalise_mode(img, gray):
    """Any Pillow mode -> "L" (gray="luma") or "RGB" (gray="mean")."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        img = _to_8bit(img)
    elif img.mode == "P" and "transparency" in img.info or img.mode in ("PA", "LA", "RGBA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (BACKGROUND,) * 4)
        img = Image.alpha_composite(bg, rgba).convert("RGB")
    target = "L" if gray == "luma" else "RGB"
    return img if img.mode == target else img.convert(target)


def load(data, gray="luma"):
    """Validated bytes -> upright 8-bit image in mode "L" (gray="luma") or "RGB" (gray="mean").

    Animated and multi-page files give their first frame; EXIF orientation is applied.
    """
    if gray not in ("luma", "mean"):
        raise ValueError(f"gray must be 'luma' or 'mean', not {gray!r}")
    img = open_image(data)
    try:
        if gray == "luma" and img.format in ("JPEG", "MPO"):
            img.draft("L", img.size)  # Y channel straight from the IDCT: no chroma, no colour maths
        img.load()
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:
            pass  # a broken EXIF block only loses the orientation hint, never the image
        return _normalise_mode(img, gray)
    except InputError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        reason = "truncated" if "truncated" in str(exc).lower() else "corrupt"
        raise InputError(f"image data is {reason} ({img.format or 'unknown'} could not be decoded)") from None
    except MemoryError:
        raise InputError("image is too large to decode in the memory available") from None

