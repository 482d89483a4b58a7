"""The bytecode step: imported modules ship as .pyc the interpreter loads without their source.

(The browser tests run the page on these files; here: the format, the selection, and the shipped archives.)
"""

import importlib.machinery
import importlib.util
import json
import marshal
import sys
import zipfile

from scripts import precompile


def test_bytecode_loads_without_its_source(tmp_path):
    source = b'"""doc"""\nVALUE = 6 * 7\nassert VALUE == 42\n'
    pyc = precompile.bytecode(source, "/lib/x/answer.py", optimize=0)
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, never checked against a source
    assert pyc[8:16] == importlib.util.source_hash(source)
    (tmp_path / "answer.pyc").write_bytes(pyc)
    loader = importlib.machinery.SourcelessFileLoader("answer", str(tmp_path / "answer.pyc"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("answer", loader))
    loader.exec_module(module)
    assert module.VALUE == 42 and module.__doc__ == "doc"


def test_optimize_2_drops_docstrings_as_python_OO_does():
    kept, dropped = ({} for _ in range(2))
    exec(marshal.loads(precompile.bytecode(b'"""doc"""\n', "m.py", optimize=0)[16:]), kept)
    exec(marshal.loads(precompile.bytecode(b'"""doc"""\n', "m.py", optimize=2)[16:]), dropped)
    assert kept["__doc__"] == "doc" and "__doc__" not in dropped


def test_only_imported_members_are_compiled():
    transform = precompile.compiler("/lib/zip/", {"/lib/zip/json/decoder.py"}, optimize=0)
    name, data = transform("json/decoder.py", b"X = 1\n")
    assert name == "json/decoder.pyc" and data[:4] == importlib.util.MAGIC_NUMBER
    assert transform("argparse.py", b"X = 1\n") == ("argparse.py", b"X = 1\n")


def test_imported_files_and_frozen_members():
    modules = {"json": "/lib/python312.zip/json/__init__.py", "_io": None, "ext": "/x/ext.so"}
    files, frozen = precompile.imported_files(modules)
    assert files == {"/lib/python312.zip/json/__init__.py"}
    if sys.modules["os"].__spec__.origin == "frozen":  # CPython builds may not freeze os; Pyodide's does
        assert "os.py" in frozen


def test_shipped_archives_carry_bytecode_for_what_the_page_imports(dist_dir):
    manifest = json.loads((dist_dir / "build-manifest.json").read_text())
    pyodide = dist_dir / manifest["pyodideDir"]
    with zipfile.ZipFile(pyodide / "python_stdlib.zip") as zf:
        names = set(zf.namelist())
    assert {"json/decoder.pyc", "dataclasses.pyc"} <= names and "json/decoder.py" not in names
    assert "statistics.py" in names  # never imported by the page: stays source, smaller
    assert "os.py" not in names and "os.pyc" not in names  # frozen into the interpreter
    numpy = next(pyodide.glob("numpy-*.whl"))
    with zipfile.ZipFile(numpy) as zf:
        names = set(zf.namelist())
        record = zf.read(next(n for n in names if n.endswith(".dist-info/RECORD"))).decode()
    assert "numpy/fft/_pocketfft.pyc" in names and "numpy/fft/_pocketfft.py" not in names
    assert "numpy/fft/_pocketfft.pyc,," in record.splitlines()


def test_runtime_zip_carries_bytecode_beside_its_sources(dist_dir):
    """Our modules keep their sources (readable, and tracebacks keep their lines) with an unchecked-hash
    .pyc each where the import system looks first, so the page does not compile them at every start."""
    import build

    manifest = json.loads((dist_dir / "build-manifest.json").read_text())
    with zipfile.ZipFile(dist_dir / manifest["runtime"]) as zf:
        for name, path in build.runtime_sources().items():
            assert zf.read(name) == path.read_bytes()
            folder, module = name.rsplit("/", 1)
            pyc = zf.read(f"{folder}/__pycache__/{module[:-3]}.cpython-312.pyc")
            assert int.from_bytes(pyc[4:8], "little") == 0b01 and len(pyc) > 16
