"""Flags for inputs outside what the model learnt from: the verdict is shown, but with a warning.

Three checks, all cheap: the header's size, the JPEG quantisation tables (read from the header,
no decoding) and the high-frequency end of the features already computed for the verdict.
The size checks are the ones the model card calls for: a face downscaled for the web (512 px)
is its worst case, near chance, and the header cannot say whether an image was downscaled, only
that it is smaller than the faces the model learnt from.
numpy + Pillow + standard library only: the page runs this module in Pyodide.
"""

import numpy as np

from . import decode

SMALL_SIDE = 256  # the training faces are 1024 px; below this most of the spectrum is missing
TRAINING_SIDE = 1024  # the training faces' size (and the extractor's largest centre crop)
LOW_JPEG_QUALITY = 50  # libjpeg quality estimated from the luminance table
# The band whose level reveals missing fine detail, and how far below the real photos' mean
# (in their standard deviations, averaged over the band) counts as "not like any training image".
DETAIL_BAND = 0.3  # cycles/pixel, up to Nyquist (0.5)
DETAIL_Z = -2.5

MESSAGES = {
    "small": "small image: the model learnt from faces of about 1024 px, so this verdict is weaker",
    "under-1024": "smaller than the 1024-px faces the model learnt from: if downscaled, as websites do, "
                  "the verdict may be little better than a guess",
    "heavy-jpeg": "heavy JPEG compression: it wipes out the fine detail the model reads",
    "little-detail": "very little fine detail for its size: probably upscaled, strongly resized or smoothed",
}

# The IJG standard luminance table (JPEG spec Annex K), in natural (row-major) order, which is
# also the order Pillow's `quantization` uses.
_STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.float64)


def jpeg_quality(table):
    """Estimated libjpeg quality (1..100) of a 64-entry luminance table, inverting libjpeg's scaling."""
    q = np.asarray(table, dtype=np.float64)
    if q.shape != (64,):
        return None
    scale = 100.0 * float(np.mean(q / _STD_LUMA))  # libjpeg: table = std * scale / 100
    quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
    return int(round(min(100.0, max(1.0, quality))))


def _low_detail(features, model):
    ref = model.reference
    if features is None or "mean_real" not in ref or "std_real" not in ref:
        return False
    band = (model.config.frequencies() > DETAIL_BAND) & model.config.profile_mask()
    z = (np.asarray(features) - np.asarray(ref["mean_real"])) / np.asarray(ref["std_real"])
    return bool(band.any() and z[band].mean() < DETAIL_Z)


def header_facts(data):
    """(shorter side in pixels, estimated JPEG quality or None) from the header alone, no decoding."""
    img = decode.open_image(data)
    tables = getattr(img, "quantization", None) or {}
    return min(img.size), (jpeg_quality(tables[0]) if 0 in tables else None)


def lossy_codec(data):
    """"webp" for a lossy WebP file (its image is a VP8 bitstream, or animation frames), else None: the
    model learnt from JPEG photos, and its verdict rule has a regime of its own for these (verdict.py).
    Read from the RIFF chunks of the header, no decoding; lossless WebP (VP8L) keeps its pixels."""
    if len(data) < 20 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    pos = 12
    while pos + 8 <= len(data):
        fourcc, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if fourcc == b"VP8L":
            return None
        if fourcc in (b"VP8 ", b"ANMF"):
            return "webp"
        pos += 8 + size + (size & 1)
    return None


def input_flags(side, quality, features, model):
    """Flag codes (keys of MESSAGES) for an image with these header facts; never raises."""
    flags = []
    if side < SMALL_SIDE:
        flags.append("small")
    elif side < TRAINING_SIDE:
        flags.append("under-1024")
    if quality is not None and quality < LOW_JPEG_QUALITY:
        flags.append("heavy-jpeg")
    if _low_detail(features, model):
        flags.append("little-detail")
    return flags
