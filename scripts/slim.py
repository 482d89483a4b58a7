"""Smaller Pyodide downloads: drop from the stdlib zip and the wheels what the page never imports.

The runtime modules use numpy (core, fft, linalg as numpy itself imports it), Pillow's
decoders and a small part of the standard library. What is dropped here is never imported
by them, by numpy's or Pillow's own import, or by Pyodide's start-up: tests/test_slim.py
checks the runtime's imports in CPython, and the browser tests run the page on the slim files.
Every archive is rewritten deterministically (fixed order and timestamps, deflate level 9),
so the content hashes of dist/ stay stable. A wheel's RECORD loses the dropped files' lines.
"""

import zipfile

# Top-level stdlib names, matched as "name/" (package) or "name.py" (module).
STDLIB_DROP = (
    "unittest", "doctest", "pdb", "pydoc", "pydoc_data", "xml", "xmlrpc", "wsgiref", "http",
    "multiprocessing", "mailbox", "imaplib", "pickletools", "difflib", "tkinter", "turtle",
    "turtledemo", "idlelib", "lib2to3", "ensurepip", "venv", "curses", "dbm", "sqlite3",
    # command-line tools, network clients and servers, debuggers and profilers, audio formats, config files
    "argparse", "optparse", "getopt", "cmd", "code", "codeop", "smtplib", "nntplib", "ftplib", "telnetlib",
    "poplib", "cgi", "cgitb", "socketserver", "bdb", "trace", "pstats", "profile", "cProfile", "timeit",
    "tabnanny", "modulefinder", "compileall", "py_compile", "aifc", "wave", "sunau", "chunk", "sndhdr",
    "configparser", "plistlib", "tomllib", "netrc", "mailcap", "nturl2path", "pipes", "pty", "tty", "crypt",
    "shelve", "webbrowser", "zipapp", "filecmp", "fileinput",
)
# Codecs the interpreter, zipfile (cp437), Pillow (latin-1 text chunks) and JSON need; the
# other ~100 codec tables (cp1252, mac_*, CJK...) go.
ENCODINGS_KEEP = (
    "__init__", "aliases", "ascii", "latin_1", "utf_8", "utf_8_sig", "utf_16", "utf_16_be",
    "utf_16_le", "utf_32", "utf_32_be", "utf_32_le", "charmap", "cp437", "raw_unicode_escape",
    "unicode_escape", "idna", "punycode",
)
# Pillow's format plugins other than those of JPEG (and MPO), PNG, WebP, GIF, BMP and TIFF.
PIL_REFUSED_FORMATS = (
    "Blp", "BufrStub", "Cur", "Dcx", "Dds", "Eps", "Fits", "Fli", "Fpx", "Ftex", "Gbr", "GribStub", "Hdf5Stub",
    "Icns", "Ico", "Im", "Imt", "Iptc", "Jpeg2K", "McIdas", "Mic", "Mpeg", "Msp", "Palm", "Pcd", "Pcx", "Pdf",
    "Pixar", "Ppm", "Psd", "Qoi", "Sgi", "Spider", "Sun", "Tga", "Wmf", "Xbm", "Xpm", "XVThumb",
)
# Wheel members by path prefix, or by suffix for rules starting with "." (.pyi: type stubs).
WHEEL_DROP = {
    "numpy": ("numpy/random/", "numpy/polynomial/", "numpy/f2py/", "numpy/ma/", "numpy/testing/",
              "numpy/doc/", "numpy/_pyinstaller/", ".pyi",
              # C headers, static libraries and Cython declarations are for compiling against numpy
              "numpy/_core/include/", "numpy/_core/lib/", ".pxd", "numpy/typing/mypy_plugin.py",
              # extension modules only numpy's own test suite imports
              "numpy/_core/_operand_flag_tests.", "numpy/_core/_rational_tests.",
              "numpy/_core/_struct_ufunc_tests.", "numpy/_core/_umath_tests.", "numpy/_core/_simd."),
    "pillow": ("PIL/_imagingft.", "PIL/ImageFont.py", ".pyi",
               # decoders of formats the runtime refuses (decode.ALLOWED_FORMATS): Image.init() skips a
               # missing plugin, so a visitor's first check no longer imports ~35 modules it never uses
               *(f"PIL/{name}ImagePlugin." for name in PIL_REFUSED_FORMATS), "PIL/PdfParser.",
               # GUI toolkits, screen grabs, viewers, colour management, morphology
               "PIL/_imagingtk.", "PIL/ImageTk.", "PIL/ImageQt.", "PIL/ImageGrab.", "PIL/ImageShow.",
               "PIL/ImageWin.", "PIL/PSDraw.", "PIL/ImageCms.", "PIL/_imagingmorph.", "PIL/ImageMorph."),
}


def stdlib_dropped(name):
    top = name.split("/", 1)[0]
    if top.endswith(".py"):
        top = top[:-3]
    if top == "encodings" and "/" in name and name != "encodings/":
        module = name.split("/", 1)[1].rsplit(".", 1)[0]
        return module not in ENCODINGS_KEEP
    return top in STDLIB_DROP


def wheel_dropper(package):
    rules = WHEEL_DROP.get(package, ())

    def dropped(name):
        return any(name.endswith(r) if r.startswith(".") else name.startswith(r) for r in rules)
    return dropped


def rewrite(src, dest, dropped, transform=None):
    """Copy zip src to dest without the members dropped(name) selects; -> number of members dropped.

    transform(name, data) -> (name, data) may rename and rewrite the members kept; a wheel's RECORD
    then names the new member without a hash (pip's own form for files it cannot hash).
    """
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        infos = zin.infolist()
        kept = [i for i in infos if not dropped(i.filename)]
        gone = {i.filename for i in infos} - {i.filename for i in kept}
        members, renamed = [], {}
        for info in kept:
            name, data = info.filename, zin.read(info)
            if transform and not name.endswith(".dist-info/RECORD"):
                name, data = transform(name, data)
                if name != info.filename:
                    renamed[info.filename] = name
            members.append((info, name, data))
        for info, name, data in members:
            if name.endswith(".dist-info/RECORD"):
                data = _record(data, gone, renamed)
            write_member(zout, name, data, info.external_attr)
    return len(gone)


def write_member(zout, name, data, external_attr=0):
    """One deterministic member: fixed timestamp, deflate level 9, so an archive's hash follows its content."""
    out = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    out.external_attr = external_attr
    out.compress_type = zipfile.ZIP_DEFLATED
    zout.writestr(out, data, compresslevel=9)


def _record(data, gone, renamed):
    lines = []
    for line in data.splitlines(keepends=True):
        path = line.split(b",", 1)[0].decode()
        if path in renamed:
            lines.append(f"{renamed[path]},,\n".encode())
        elif path not in gone:
            lines.append(line)
    return b"".join(lines)
