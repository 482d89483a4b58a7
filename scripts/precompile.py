"""Ship the modules the page imports as bytecode, so a visitor's browser does not compile them at every start.

Runs inside Pyodide under Node (scripts/precompile.mjs): bytecode is specific to the interpreter's
version, and Pyodide's own Python 3.12 is the one the build is sure to have. The page's imports are
learnt by running scripts/runtime_probe.py first, in a fresh interpreter (before this module); the .py members of those
modules become unchecked-hash .pyc members (never checked against a source that is not shipped),
every other member stays as it was. The stdlib zip's copies of frozen modules are dropped: the
interpreter never reads them. Standard-library bytecode is compiled as `python -OO` would
(no docstrings, no asserts); numpy and Pillow keep both, as they are tested that way, and so do our
runtime modules, whose bytecode goes beside their sources (in __pycache__, where the import system
looks first): the page's tracebacks keep their lines and anyone can read what runs.
"""

import importlib.util
import marshal
import sys
import zipfile

from scripts import slim

STDLIB_ZIP = "/lib/python312.zip/"
SITE_PACKAGES = "/lib/python3.12/site-packages/"
RUNTIME = "/home/pyodide/runtime/"  # where web/worker.js (and precompile.mjs) unpack the runtime zip
STDLIB_OPTIMIZE = 2
PACKAGE_OPTIMIZE = 0


def bytecode(source, filename, optimize):
    """A .pyc for `source`: unchecked-hash header (PEP 552), so no source or timestamp is consulted."""
    code = compile(source, filename, "exec", dont_inherit=True, optimize=optimize)
    flags = (0b01).to_bytes(4, "little")
    return importlib.util.MAGIC_NUMBER + flags + importlib.util.source_hash(source) + marshal.dumps(code)


def imported_files(modules):
    """{module: file} from the probe -> (.py files to compile, stdlib members of frozen modules)."""
    frozen = {name for name, m in sys.modules.items()
              if getattr(getattr(m, "__spec__", None), "origin", None) == "frozen"}
    frozen_members = {name.replace(".", "/") + suffix for name in frozen for suffix in (".py", "/__init__.py")}
    return {f for f in modules.values() if f and f.endswith(".py")}, frozen_members


def compiler(prefix, imported, optimize):
    """A slim.rewrite transform: members whose runtime path (prefix + name) was imported become .pyc."""
    def transform(name, data):
        if prefix + name not in imported:
            return name, data
        return name + "c", bytecode(data, prefix + name, optimize)
    return transform


def with_bytecode(src, dest, imported):
    """Copy the runtime zip src to dest, adding an unchecked-hash .pyc in __pycache__ for each imported module."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            source = zin.read(info)
            slim.write_member(zout, info.filename, source)
            path = RUNTIME + info.filename
            if path in imported:
                pyc = importlib.util.cache_from_source(path)[len(RUNTIME):]
                slim.write_member(zout, pyc, bytecode(source, path, PACKAGE_OPTIMIZE))


def main(modules, stdlib_zip, wheels, runtime_zip, out_dir):
    """Rewrite the stdlib zip, the wheels and the runtime zip into out_dir; -> number of modules compiled."""
    imported, frozen_members = imported_files(modules)
    slim.rewrite(stdlib_zip, f"{out_dir}/python_stdlib.zip", frozen_members.__contains__,
                 compiler(STDLIB_ZIP, imported, STDLIB_OPTIMIZE))
    for wheel in wheels:
        slim.rewrite(wheel, f"{out_dir}/{wheel.rsplit('/', 1)[-1]}", lambda name: False,
                     compiler(SITE_PACKAGES, imported, PACKAGE_OPTIMIZE))
    with_bytecode(runtime_zip, f"{out_dir}/{runtime_zip.rsplit('/', 1)[-1]}", imported)
    return sum(f.startswith((STDLIB_ZIP, SITE_PACKAGES, RUNTIME)) for f in imported)
