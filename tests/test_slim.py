"""The slim Pyodide files: the rules drop what they name, and the shipped lock matches the shipped wheels.

That nothing the runtime imports is dropped is checked by the build itself: its bytecode step runs
scripts/runtime_probe.py inside the slim Pyodide (numpy and Pillow of the page's own versions, which
CPython no longer shares), so a module dropped too eagerly fails the build with an ImportError.
"""

import json
import zipfile
from pathlib import Path

from scripts import slim
from build import file_hash

ROOT = Path(__file__).resolve().parents[1]


def test_rules_drop_what_they_name_and_keep_the_rest():
    assert slim.stdlib_dropped("unittest/case.py") and slim.stdlib_dropped("pdb.py")
    assert slim.stdlib_dropped("encodings/cp1252.py")
    assert not slim.stdlib_dropped("encodings/utf_8.py") and not slim.stdlib_dropped("encodings/__init__.py")
    assert not slim.stdlib_dropped("json/decoder.py") and not slim.stdlib_dropped("zipfile/__init__.py")
    assert slim.stdlib_dropped("argparse.py") and not slim.stdlib_dropped("argparse_extra.py")
    pillow = slim.wheel_dropper("pillow")
    assert pillow("PIL/PsdImagePlugin.py") and pillow("PIL/ImImagePlugin.py") and pillow("PIL/_imagingtk.so")
    assert not any(pillow(f"PIL/{name}ImagePlugin.py") for name in ("Jpeg", "Mpo", "Png", "WebP", "Gif", "Bmp", "Tiff"))
    assert not pillow("PIL/ImageMath.py") and not pillow("PIL/ImagePalette.py")
    numpy = slim.wheel_dropper("numpy")
    assert numpy("numpy/random/_generator.so") and numpy("numpy/__init__.pyi")
    assert not numpy("numpy/fft/_pocketfft_umath.so") and not numpy("numpy/linalg/linalg.py")


def test_rewrite_drops_members_and_their_record_lines(tmp_path):
    src, dest = tmp_path / "a.whl", tmp_path / "b.whl"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("pkg/keep.py", "x = 1\n")
        zf.writestr("pkg/drop.pyi", "x: int\n")
        zf.writestr("pkg-1.0.dist-info/RECORD", "pkg/keep.py,sha256=a,6\npkg/drop.pyi,sha256=b,7\n")
    assert slim.rewrite(src, dest, lambda n: n.endswith(".pyi")) == 1
    with zipfile.ZipFile(dest) as zf:
        assert zf.namelist() == ["pkg/keep.py", "pkg-1.0.dist-info/RECORD"]
        assert zf.read("pkg-1.0.dist-info/RECORD") == b"pkg/keep.py,sha256=a,6\n"
    slim.rewrite(src, tmp_path / "c.whl", lambda n: n.endswith(".pyi"))
    assert (tmp_path / "c.whl").read_bytes() == dest.read_bytes()  # deterministic: stable hashed names


def test_shipped_lock_names_the_shipped_wheels(dist_dir):
    manifest = json.loads((dist_dir / "build-manifest.json").read_text())
    pyodide = dist_dir / manifest["pyodideDir"]
    lock = json.loads((pyodide / "pyodide-lock.json").read_text())
    for entry in lock["packages"].values():
        assert file_hash(pyodide / entry["file_name"]) == entry["sha256"]
    with zipfile.ZipFile(pyodide / "python_stdlib.zip") as zf:
        names = set(zf.namelist())
    assert names & {"encodings/utf_8.py", "encodings/utf_8.pyc"} and not any(n.startswith("unittest/") for n in names)
