"""A corpus of the files users drop: good images in every format and mode, and broken or hostile ones.

`build_corpus(directory)` writes each file and returns one CorpusItem per file, saying
whether it must be classified ("ok") or refused ("error", with a word its message must
contain). The Python tests and the browser tests run the same corpus, so the page and
the CLI are held to the same outcome for every kind. Images are small synthetic
textures (smooth noise plus fine noise), never faces.

`python tests/corpus.py` prints the markdown table kept in tests/CORPUS.md.
"""

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

W, H = 96, 80  # not square, so a missed EXIF rotation changes the result


@dataclass(frozen=True)
class CorpusItem:
    name: str  # file name; non-UTF-8 bytes are surrogate-escaped (os.fsdecode), as Path gives them
    kind: str
    expect: str  # "ok" or "error"
    reason: str  # for "error": a word the message must contain (case-insensitive); "" for "ok"
    about: str  # one line for CORPUS.md
    path: Path = None


def texture(w=W, h=H, seed=0, channels=3):
    """Up-sampled random walk plus fine noise: a spectrum with both low and high frequencies."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 1, (h // 4 + 1, w // 4 + 1, channels)).cumsum(0).cumsum(1)
    base = base.repeat(4, 0).repeat(4, 1)[:h, :w]
    base = (base - base.min()) / (np.ptp(base) + 1e-9) * 190 + rng.normal(0, 10, base.shape) + 30
    arr = np.clip(base, 0, 255).astype(np.uint8)
    return Image.fromarray(arr[..., 0] if channels == 1 else arr, "L" if channels == 1 else "RGB")


def encode(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def jpeg(**kw):
    return encode(texture(), "JPEG", quality=90, **kw)


def exif_orientation(value):
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def png_chunk(ctype, payload):
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


def png_with_size(data, w, h):
    """A valid PNG whose IHDR (and its CRC) now claims w×h: the decoder must never be reached."""
    ihdr = data[16:29]
    return data[:8] + png_chunk(b"IHDR", struct.pack(">II", w, h) + ihdr[8:]) + data[33:]


def png_zlib_bomb(side=20000):
    """A real 1-bit PNG of side×side zeros: ~50 KB on disk, 400 M pixels once decoded."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def png_text_bomb():
    """A good PNG with a zTXt chunk that inflates to 4 MiB (Pillow's text limit is 1 MiB)."""
    data = encode(texture(), "PNG")
    bomb = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * (4 << 20), 9))
    return data[:33] + bomb + data[33:]


def tiff_tiled(tile):
    """A hand-written 64×64 gray TIFF whose header declares tile×tile tiles."""
    pixels = bytes(range(64)) * 64
    entries = [(256, 4, 64), (257, 4, 64), (258, 3, 8), (259, 3, 1), (262, 3, 1), (277, 3, 1),
               (322, 4, tile), (323, 4, tile), (324, 4, 0), (325, 4, len(pixels))]
    ifd_size = 2 + 12 * len(entries) + 4
    data_offset = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, typ, value in entries:
        value = data_offset if tag == 324 else value
        ifd += struct.pack("<HHI", tag, typ, 1) + (struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value))
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00\x00\x00\x00" + pixels


def float_tiff(arr):
    return encode(Image.fromarray(arr.astype(np.float32), "F"), "TIFF")


def jpeg_cut_after_sos_header(data):
    """Header and tables, then the start-of-scan header with no scan data."""
    sos = data.index(b"\xff\xda")
    (length,) = struct.unpack(">H", data[sos + 2:sos + 4])
    return data[:sos + 2 + length]


def many_scans(progressive, copies):
    """The last scan (its SOS segment and data) repeated before EOI: a small file that costs one decoding pass per scan."""
    last = progressive.rindex(b"\xff\xda")
    scan = progressive[last:-2]
    return progressive[:-2] + scan * copies + b"\xff\xd9"


def _float_texture():
    return np.asarray(texture(channels=1), dtype=np.float32) / 255.0 - 0.3


def _frames(n, seed):
    return [texture(seed=seed + i, channels=1) for i in range(n)]


def _items():
    """(name, kind, expect, reason, about, bytes-factory) for every kind."""
    base = jpeg()
    prog = jpeg(progressive=True)
    png = encode(texture(), "PNG")
    gif_frames = _frames(3, 10)
    webp_frames = _frames(3, 20)
    rgb = texture()
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, W, dtype=np.uint8), (H, 1))))
    palette = rgb.quantize(16)
    palette.info["transparency"] = 0
    gray16 = Image.fromarray((np.asarray(texture(channels=1), dtype=np.uint16) * 257 + 100))
    return [
        ("jpeg-baseline.jpg", "jpeg-baseline", "ok", "", "baseline RGB JPEG", lambda: base),
        ("jpeg-progressive.jpg", "jpeg-progressive", "ok", "", "progressive JPEG", lambda: prog),
        ("jpeg-gray.jpg", "jpeg-grayscale", "ok", "", "one-channel JPEG", lambda: encode(texture(channels=1), "JPEG")),
        ("jpeg-cmyk.jpg", "jpeg-cmyk", "ok", "", "CMYK JPEG (Adobe marker)", lambda: encode(rgb.convert("CMYK"), "JPEG")),
        ("jpeg-exif-rotated.jpg", "jpeg-exif-rotated", "ok", "",
         "EXIF orientation 6: classified upright", lambda: jpeg(exif=exif_orientation(6))),
        ("jpeg-corrupt-exif.jpg", "jpeg-corrupt-exif", "ok", "", "EXIF block of garbage: orientation ignored",
         lambda: jpeg(exif=b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xf0" + bytes(range(200)))),
        ("jpeg-missing-eoi.jpg", "jpeg-missing-eoi", "error", "truncated",
         "all scan data but no end-of-image marker", lambda: base[:-2]),
        ("jpeg-header-only.jpg", "jpeg-truncated-header", "error", "truncated",
         "cut after the start-of-scan header", lambda: jpeg_cut_after_sos_header(base)),
        ("jpeg-half.jpg", "jpeg-truncated-midscan", "error", "truncated",
         "cut half way through the scan", lambda: base[:len(base) // 2]),
        ("jpeg-progressive-half.jpg", "jpeg-progressive-truncated", "error", "truncated",
         "progressive JPEG cut half way", lambda: prog[:len(prog) // 2]),
        ("jpeg-many-scans.jpg", "jpeg-many-scans", "error", "scans",
         "progressive JPEG whose last scan repeats 300 times (decoding cost grows per scan)",
         lambda: many_scans(prog, 300)),
        ("jpeg-soi-only.jpg", "jpeg-soi-only", "error", "cut short",
         "start-of-image marker and nothing else", lambda: base[:2]),
        ("png-rgb.png", "png-rgb", "ok", "", "8-bit RGB PNG", lambda: png),
        ("png-named.jpg", "png-named-jpg", "ok", "", "PNG with a .jpg name: the content decides", lambda: png),
        ("png-gray16.png", "png-gray16", "ok", "", "16-bit gray PNG: top byte kept",
         lambda: encode(gray16, "PNG")),
        ("png-rgb16.png", "png-rgb16", "ok", "", "16-bit RGB PNG", lambda: png_rgb16(np.asarray(rgb))),
        ("png-palette-trns.png", "png-palette-transparency", "ok", "",
         "palette PNG with a transparent index: composited on white", lambda: encode(palette, "PNG")),
        ("png-rgba.png", "png-rgba", "ok", "", "RGBA PNG: composited on white", lambda: encode(rgba, "PNG")),
        ("png-la.png", "png-la", "ok", "", "gray+alpha PNG: composited on white", lambda: encode(rgba.convert("LA"), "PNG")),
        ("png-64x64.png", "png-64x64", "ok", "", "smallest allowed size", lambda: encode(texture(64, 64), "PNG")),
        ("png-63x63.png", "png-63x63", "error", "at least 64", "one pixel too small",
         lambda: encode(texture(63, 63), "PNG")),
        ("png-1x1.png", "png-1x1", "error", "at least 64", "a tracking pixel", lambda: encode(Image.new("RGB", (1, 1)), "PNG")),
        ("png-20000x20.png", "png-20000x20", "error", "at least 64", "a long strip: shorter side too small",
         lambda: encode(texture(20000, 20), "PNG", compress_level=1)),
        ("png-claims-30000.png", "png-header-30000x30000", "error", "30000×30000",
         "tiny file whose header claims 30000×30000: refused from the header", lambda: png_with_size(png, 30000, 30000)),
        ("png-zlib-bomb.png", "png-zlib-bomb", "error", "20000×20000",
         "real 20000×20000 PNG in ~50 KB: refused from the header", png_zlib_bomb),
        ("png-text-bomb.png", "png-text-bomb", "error", "too large", "zTXt chunk inflating to 4 MiB", png_text_bomb),
        ("png-bad-crc.png", "png-bad-crc", "error", "corrupt", "one byte of the header changed (CRC mismatch)",
         lambda: png[:20] + bytes([png[20] ^ 1]) + png[21:]),
        ("png-blank.png", "png-blank", "error", "blank", "one colour: no spectrum to judge",
         lambda: encode(Image.new("RGB", (W, H), (40, 90, 200)), "PNG")),
        ("gif-animated.gif", "gif-animated", "ok", "", "3-frame GIF: first frame",
         lambda: encode(gif_frames[0], "GIF", save_all=True, append_images=gif_frames[1:], duration=100, loop=0)),
        ("webp-animated.webp", "webp-animated", "ok", "", "3-frame lossless WebP: first frame",
         lambda: encode(webp_frames[0], "WEBP", save_all=True, append_images=webp_frames[1:], lossless=True)),
        ("webp-lossy.webp", "webp-lossy", "ok", "", "lossy WebP", lambda: encode(rgb, "WEBP", quality=80)),
        ("webp-lossless.webp", "webp-lossless", "ok", "", "lossless WebP", lambda: encode(rgb, "WEBP", lossless=True)),
        ("tiff-pages.tif", "tiff-multipage", "ok", "", "3-page TIFF: first page",
         lambda: encode(gif_frames[0], "TIFF", save_all=True, append_images=gif_frames[1:])),
        ("tiff-16bit.tif", "tiff-16bit", "ok", "", "16-bit gray TIFF (I;16)", lambda: encode(gray16, "TIFF")),
        ("tiff-float.tif", "tiff-float", "ok", "", "32-bit float TIFF (F): stretched min..max",
         lambda: float_tiff(_float_texture())),
        ("tiff-deflate.tif", "tiff-deflate", "ok", "", "deflate-compressed RGB TIFF",
         lambda: encode(rgb, "TIFF", compression="tiff_adobe_deflate")),
        ("tiff-float-nan.tif", "tiff-float-nan", "error", "NaN", "float TIFF with a NaN pixel",
         lambda: float_tiff(np.where(np.arange(W * H).reshape(H, W) == 5, np.nan, _float_texture()))),
        ("tiff-float-constant.tif", "tiff-float-constant", "error", "blank", "float TIFF, every pixel 0.25",
         lambda: float_tiff(np.full((H, W), 0.25))),
        ("tiff-huge-tiles.tif", "tiff-huge-tiles", "error", "tiles",
         "64×64 TIFF declaring 65536×65536 tiles", lambda: tiff_tiled(65536)),
        ("bmp.bmp", "bmp", "ok", "", "24-bit BMP", lambda: encode(rgb, "BMP")),
        ("ico-as-png.png", "ico-format", "error", "supported", "an ICO icon: format not allowed",
         lambda: encode(texture(64, 64), "ICO", sizes=[(64, 64)])),
        ("empty.jpg", "empty", "error", "empty", "zero bytes", lambda: b""),
        ("random.jpg", "random-bytes", "error", "not an image", "4 KiB of random bytes",
         lambda: np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()),
        ("document.jpg", "pdf-as-jpg", "error", "PDF", "a PDF renamed .jpg",
         lambda: b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
        ("page.jpg", "html-as-jpg", "error", "HTML", "an HTML page renamed .jpg",
         lambda: b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>"),
        ("archive.jpg", "zip-as-jpg", "error", "ZIP", "a ZIP archive renamed .jpg", zip_bytes),
        ("drawing.jpg", "svg-as-jpg", "error", "SVG", "an SVG drawing renamed .jpg",
         lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><script>alert(1)</script></svg>'),
        (os.fsdecode(b"caf\xe9-\xff.png"), "name-non-utf8", "ok", "", "file name with bytes that are not UTF-8", lambda: png),
        ("x" * 200 + "-long-name.png", "name-long", "ok", "", "file name of 214 characters", lambda: png),
        ("<img src=x onerror=alert(1)>.png", "name-html", "ok", "", "file name that is an HTML injection", lambda: png),
        ('a,b "quoted"\nnewline.png', "name-csv-hostile", "ok", "", "file name with comma, quotes and a newline",
         lambda: png),
    ]


def png_rgb16(arr8):
    """16-bit RGB PNG written by hand (Pillow cannot save 16-bit RGB)."""
    h, w, _ = arr8.shape
    arr16 = arr8.astype(">u2") * 257
    raw = b"".join(b"\x00" + arr16[y].tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def zip_bytes():
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("photo.jpg", jpeg())
    return buf.getvalue()


def corpus_kinds():
    """The kinds without writing any file: (kind, expect, reason, about)."""
    return [CorpusItem(name, kind, expect, reason, about) for name, kind, expect, reason, about, _ in _items()]


def build_corpus(directory):
    """Write every corpus file into `directory` (created if needed) and return the items."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    items = []
    for name, kind, expect, reason, about, make in _items():
        path = directory / name
        path.write_bytes(make())
        items.append(CorpusItem(name, kind, expect, reason, about, path))
    return items


def markdown_table(items):
    """The table of CORPUS.md, one row per kind."""
    lines = ["| kind | file | outcome | about |", "|---|---|---|---|"]
    for it in items:
        outcome = "classified" if it.expect == "ok" else f'refused ("{it.reason}")'
        shown = os.fsencode(it.name).decode("utf-8", "backslashreplace").replace("\n", "\\n").replace("|", "\\|")
        lines.append(f"| {it.kind} | `{shown[:40] + '…' if len(shown) > 40 else shown}` | {outcome} | {it.about} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(corpus_kinds()), end="")
