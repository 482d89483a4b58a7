"""Untrusted image bytes -> a validated, upright, 8-bit Pillow image (mode "L" or "RGB").

This is the one validation path shared by the page, the CLI and the trainer.
Limits are checked from the header before any pixel is decoded, so a small file
that claims 30000x30000 pixels never reaches the decoder: in WebAssembly an
out-of-memory error kills the whole runtime, so it must never be attempted.
Only the first frame of an animation or multi-page file is ever decoded, so
decoded memory is bounded by MAX_PIXELS x 4 bytes (Pillow's widest pixel)
whatever the file holds after it.

Grayscale "luma" is taken from the decoder itself where the format stores it
(JPEG's Y channel, via draft mode). That skips chroma upsampling, which differs
between libjpeg-turbo (CPython's Pillow wheels) and IJG libjpeg 9 (Pyodide's
Pillow): both runtimes then see identical pixels.

Every refusal is an InputError whose message a person understands; no exception
of Pillow's own leaves `load`.
"""

import contextlib
import io
import math
import struct
import warnings

import numpy as np
from PIL import Image, ImageFile

from .errors import InputError

MAX_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 40_000_000
MIN_SIDE = 64
# A progressive JPEG re-reads the whole image once per scan; a normal one has about ten. Thousands of
# tiny scans make a small file take minutes to decode (a known decompression DoS), so they are refused.
MAX_JPEG_SCANS = 256
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")  # MPO (phone JPEGs) opens through JPEG
BACKGROUND = 255  # alpha is composited on white, a fixed choice so results never depend on the viewer
STRIP_ROWS = 256  # rows converted at once (mode conversions run in strips to bound memory)

_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_TIFF_TILE_WIDTH, _TIFF_TILE_LENGTH = 322, 323


def _mib(n):
    return f"{n / (1024 * 1024):.0f} MiB"


def too_many_bytes(size):
    """The refusal of a file over MAX_BYTES (the CLI raises it from the file size, before reading)."""
    return InputError(f"file is {_mib(size)}; the limit is {_mib(MAX_BYTES)}")


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
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<svg")):
        return "a text document (HTML/XML/SVG)"
    return None


def _identify(data):
    """Pillow's Image.open restricted to ALLOWED_FORMATS, without its own pixel-limit check.

    Pillow refuses large images with a message that lacks the dimensions and at a
    limit (89 M pixels) above ours; here the header is parsed, and our limits with
    the image's real width and height are applied by `open_image`.
    """
    Image.init()
    fp = io.BytesIO(data)
    prefix = data[:16]
    for name in ALLOWED_FORMATS:
        factory, accept = Image.OPEN[name]
        if accept is not None:
            result = accept(prefix)
            if not result or isinstance(result, (str, bytes)):
                continue  # a string is Pillow's "looks like it but unsupported" note: not this format
        fp.seek(0)
        try:
            return factory(fp, None)
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue  # Pillow's "not this format" exceptions, as in Image.open
    return None


@contextlib.contextmanager
def _pillow_warnings():
    """Pillow's pixel-limit warning is an error; its other warnings (e.g. "Corrupt EXIF data") are noise here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def open_image(data):
    """Open from the header only and enforce the byte, pixel and format limits."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError("input is not file bytes")
    data = bytes(data)
    size = len(data)
    if size == 0:
        raise InputError("file is empty (0 bytes)")
    if size > MAX_BYTES:
        raise too_many_bytes(size)
    try:
        with _pillow_warnings():
            img = _identify(data)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InputError(f"image has more pixels than the limit of {MAX_PIXELS:,} pixels") from None
    except MemoryError:
        raise InputError("image header asks for more memory than is available") from None
    except Exception as exc:  # a damaged header of an allowed format: Pillow raises many types
        reason = "truncated" if "truncat" in str(exc).lower() else "corrupt"
        raise InputError(f"image header is {reason} ({_format_of(data) or 'image'}: {_short(exc)})") from None
    if img is None:
        what = _sniff(data)
        if what:
            raise InputError(f"not an image: the file is {what}")
        claimed = _format_of(data)
        if claimed:
            raise InputError(f"image header is corrupt or cut short (the file starts like a {claimed} but cannot be read)")
        raise InputError("not an image, or not a supported format (supported: JPEG, PNG, WebP, GIF, BMP, TIFF)")
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise InputError(f"image is {w}×{h} pixels; the limit is {MAX_PIXELS:,} pixels")
    if min(w, h) < MIN_SIDE:
        raise InputError(f"image is {w}×{h} pixels; the smallest side must be at least {MIN_SIDE}")
    if img.format in ("JPEG", "MPO"):
        # 0xFFDA starts a scan; entropy-coded data escapes every 0xFF, so only markers (and the odd
        # pair inside an APP segment's binary payload) are counted: the count can only err high.
        scans = data.count(b"\xff\xda")
        if scans > MAX_JPEG_SCANS:
            raise InputError(f"JPEG has {scans} scans; the limit is {MAX_JPEG_SCANS} (a normal one has about 10)")
    if img.format == "TIFF":
        tw, th = img.tag_v2.get(_TIFF_TILE_WIDTH, 0), img.tag_v2.get(_TIFF_TILE_LENGTH, 0)
        if not isinstance(tw, int) or not isinstance(th, int) or tw * th > MAX_PIXELS:
            raise InputError(f"TIFF tiles are {tw}×{th} pixels; the limit is {MAX_PIXELS:,} pixels per tile")
    return img


def _format_of(data):
    """The format a damaged file claims by its magic bytes, for messages."""
    for magic, name in ((b"\xff\xd8", "JPEG"), (b"\x89PNG", "PNG"), (b"GIF8", "GIF"), (b"BM", "BMP"),
                        (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"RIFF", "WebP")):
        if data.startswith(magic):
            return name
    return None


def _short(exc):
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def _strips(img):
    """The image in horizontal strips of STRIP_ROWS rows -> (top, strip) pairs."""
    w, h = img.size
    for top in range(0, h, STRIP_ROWS):
        yield top, img.crop((0, top, w, min(h, top + STRIP_ROWS)))


def _in_strips(img, mode, convert):
    """`convert` (a per-pixel conversion, so strips give the same pixels as the whole) applied strip by
    strip into one new image of `mode`: at the 40-MP limit a whole-image conversion keeps several full
    copies at once (768 MiB for a transparent PNG), a wasm32 worker's out-of-memory."""
    out = Image.new(mode, img.size)
    for top, strip in _strips(img):
        out.paste(convert(strip), (0, top))
    return out


def _on_white(img):
    """Alpha composited on the fixed BACKGROUND -> "RGB"."""
    rgba = img.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (BACKGROUND,) * 4), rgba).convert("RGB")


def _top_byte(img):
    return Image.fromarray((np.asarray(img).astype(np.uint32) >> 8).astype(np.uint8), "L")


def _to_8bit(img, sixteen_bit):
    """16-bit images keep their top byte, as Pillow does for 16-bit RGB; 32-bit int and float are stretched.

    There is no natural white level for float or 32-bit integer pixels, so those
    are scaled so that their minimum is 0 and their maximum 255. Non-finite pixels
    are refused rather than guessed. Both run in strips (see _in_strips).
    """
    if sixteen_bit:
        return _in_strips(img, "L", _top_byte)
    lo, hi = math.inf, -math.inf
    for _, strip in _strips(img):
        arr = np.asarray(strip, dtype=np.float32)
        if not np.isfinite(arr).all():
            raise InputError("image has NaN or infinite pixel values (float image)")
        lo, hi = min(lo, float(arr.min())), max(hi, float(arr.max()))
    if hi <= lo:
        raise InputError("image is blank: every pixel has the same value")
    if hi - lo < 255.0 / float(np.finfo(np.float32).max):  # stretching it to 0..255 would overflow
        raise InputError("image is blank: its pixel values differ by less than float precision can stretch")
    scale = 255.0 / (hi - lo)

    def stretch(strip):
        arr = np.array(strip, dtype=np.float32)
        arr *= np.float32(scale)
        arr -= np.float32(lo * scale)
        np.rint(arr, out=arr)
        np.clip(arr, 0, 255, out=arr)
        return Image.fromarray(arr.astype(np.uint8), "L")

    return _in_strips(img, "L", stretch)


def _normalise_mode(img, gray, sixteen_bit):
    """Any Pillow mode -> "L" (gray="luma") or "RGB" (gray="mean")."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        img = _to_8bit(img, sixteen_bit)
    elif img.mode == "P" and "transparency" in img.info or img.mode in ("PA", "LA", "RGBA", "RGBa", "La"):
        target = "L" if gray == "luma" else "RGB"
        return _in_strips(img, target, lambda strip: _on_white(strip).convert(target))
    target = "L" if gray == "luma" else "RGB"
    return img if img.mode == target else img.convert(target)


def _orientation(img):
    """EXIF orientation (1..8) or None; a broken EXIF block only loses the hint, never the image."""
    try:
        value = img.getexif().get(0x0112)
    except Exception:
        return None
    return value if isinstance(value, int) else None


def _is_sixteen_bit(img):
    """Whether an integer gray image holds 16-bit samples (PNG's 16-bit gray opens as mode "I")."""
    return img.mode.startswith("I;16") or (img.mode == "I" and img.format == "PNG")


def load(data, gray="luma"):
    """Validated bytes -> upright 8-bit image in mode "L" (gray="luma") or "RGB" (gray="mean").

    Animated and multi-page files give their first frame; EXIF orientation is applied;
    images that are blank (one colour) are refused, as they have no spectrum to judge.
    """
    if gray not in ("luma", "mean"):
        raise ValueError(f"gray must be 'luma' or 'mean', not {gray!r}")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False: truncated files would pass")
    img = open_image(data)
    fmt = img.format
    try:
        with _pillow_warnings():
            if gray == "luma" and fmt in ("JPEG", "MPO"):
                img.draft("L", img.size)  # Y channel straight from the IDCT: no chroma, no colour maths
            orientation = _orientation(img)
            sixteen_bit = _is_sixteen_bit(img)
            img.load()
        img = _normalise_mode(img, gray, sixteen_bit)
        if orientation in _ORIENTATION:  # after: a pixel permutation, cheaper on 8 bits than on 32 or 64
            img = img.transpose(_ORIENTATION[orientation])
    except InputError:
        raise
    except MemoryError:
        raise InputError("image is too large to decode in the memory available") from None
    except Exception as exc:  # decoders raise OSError, ValueError, SyntaxError, EOFError, ... on bad data
        reason = "truncated" if "truncated" in str(exc).lower() or isinstance(exc, EOFError) else "corrupt"
        raise InputError(f"image data is {reason} ({fmt} could not be decoded: {_short(exc)})") from None
    if _one_colour(img):
        raise InputError("image is blank: every pixel has the same colour")
    return img


def _one_colour(img):
    """Whether every pixel is the same. The middle row settles it for nearly every photo; the whole
    image is scanned only when that row is one colour (a full scan costs about 1 ms in wasm)."""
    def flat(extrema):
        return all(lo == hi for lo, hi in (extrema if isinstance(extrema[0], tuple) else (extrema,)))

    w, h = img.size
    return flat(img.crop((0, h // 2, w, h // 2 + 1)).getextrema()) and flat(img.getextrema())
