"""The slim Pyodide files: nothing the runtime imports is dropped, and the shipped lock matches the shipped wheels.

(The browser tests run the page on the slim files; these checks name the culprit when a rule goes too far.)
"""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from scripts import slim
from build import file_hash

ROOT = Path(__file__).resolve().parents[1]

# What the worker runs (see web/worker.js GLUE), in a fresh interpreter; prints the loaded modules' files.
RUNTIME_PROBE = """
import io, json, sys
import numpy as np
from PIL import Image
from facespectra.classify import classify_bytes
from facespectra.explain import explain_bytes, model_info
from facespectra.inputflags import MESSAGES
from facespectra.model import SpectralModel

model = SpectralModel.load(sys.argv[1])
pixels = ((np.arange(96 * 128 * 3) * 7919) % 251).astype(np.uint8).reshape(96, 128, 3)
for fmt in ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"):
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt)
    row = classify_bytes(buf.getvalue(), model)
    assert row["label"] != "error", (fmt, row)
    json.dumps(explain_bytes(buf.getvalue(), row["features"], model))
json.dumps({**model_info(model), "flag_messages": MESSAGES})
print(json.dumps({name: getattr(m, "__file__", None) for name, m in list(sys.modules.items())}))
"""


def loaded_modules():
    out = subprocess.run([sys.executable, "-c", RUNTIME_PROBE, str(ROOT / "weights" / "model.json")], check=True,
                         capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "py")})
    return json.loads(out.stdout)


def test_nothing_the_runtime_imports_is_dropped():
    modules = loaded_modules()
    stdlib_dir = Path(json.__file__).parents[1]
    dropped = []
    for name, file in modules.items():
        if not file:
            continue
        path = Path(file)
        for package, root in (("numpy", "numpy"), ("pillow", "PIL")):
            if root in path.parts:
                member = "/".join(path.parts[path.parts.index(root):])
                if slim.wheel_dropper(package)(member):
                    dropped.append(name)
        if path.is_relative_to(stdlib_dir) and "site-packages" not in path.parts:
            member = path.relative_to(stdlib_dir).as_posix()
            if slim.stdlib_dropped(member):
                dropped.append(name)
    assert dropped == []


def test_rules_drop_what_they_name_and_keep_the_rest():
    assert slim.stdlib_dropped("unittest/case.py") and slim.stdlib_dropped("pdb.py")
    assert slim.stdlib_dropped("encodings/cp1252.py")
    assert not slim.stdlib_dropped("encodings/utf_8.py") and not slim.stdlib_dropped("encodings/__init__.py")
    assert not slim.stdlib_dropped("json/decoder.py") and not slim.stdlib_dropped("zipfile/__init__.py")
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
    assert "encodings/utf_8.py" in names and "unittest/__init__.py" not in names
