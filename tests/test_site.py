"""The site around the page (issue 4 items 5, 6, 8 and issue 5's crash recovery): no request after load,
offline with the service worker, a sub-path as on GitHub Pages, and a worker that dies mid-batch."""

import shutil
import time
from urllib.parse import urlsplit

import pytest

from browser_helpers import drop_files, open_app, results, wait_all_workers, wait_ready
from conftest import encode, serve, texture

pytestmark = pytest.mark.browser


def files(n, seed=0):
    return [(f"site-{seed + i}.jpg", encode(texture(192, seed=seed + i), "JPEG", quality=85)) for i in range(n)]


def static_files(site):
    return {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file() and p.suffix != ".gz"}


def test_no_request_after_load_then_offline_second_visit(browser, dist_dir):
    """Items 5 and 6. Loading fetches only the site's own static files; once ready and saved for offline use,
    a full batch makes no request at all (and the page's live counter says 0). Then the network goes off,
    the page reloads from the service worker's cache and classifies again."""
    srv = serve(dist_dir)
    page = open_app(browser, srv.base_url)
    try:
        t0 = time.monotonic()
        wait_ready(page)
        cold = time.monotonic() - t0
        own = static_files(dist_dir) | {""}
        fetched = [u for u in page.requests if not u.startswith("blob:")]  # the worker starts from a blob: URL
        paths = {urlsplit(u).path.lstrip("/") for u in fetched}
        assert {urlsplit(u)[:2] for u in fetched} == {urlsplit(srv.base_url)[:2]}
        assert paths <= own, paths - own
        page.wait_for_selector("[data-testid=offline][data-state=ready]", state="attached", timeout=120_000)
        wait_all_workers(page)
        page.requests.clear()
        batch = files(12, seed=500) + [("broken.png", b"\x89PNG\r\n\x1a\nbroken")]
        drop_files(page, batch)
        rows = results(page, len(batch))
        assert [r["label"] for r in rows].count("error") == 1
        assert page.requests == [] or all(u.startswith(("blob:", "data:")) for u in page.requests), page.requests
        assert page.locator("[data-testid=net-count]").get_attribute("data-count") == "0"

        page.context.set_offline(True)
        t0 = time.monotonic()
        page.reload()
        wait_ready(page)
        warm = time.monotonic() - t0
        drop_files(page, files(2, seed=520))
        assert all(r["label"] in ("real", "fake", "uncertain") for r in results(page, 2))
        print(f"\nready: cold {cold:.1f} s, warm offline (service worker) {warm:.1f} s")
    finally:
        page.context.close()
        srv.shutdown()


def test_web_app_manifest_and_service_worker_scope(browser, server):
    page = open_app(browser, server.base_url)
    try:
        wait_ready(page)
        manifest = page.evaluate("() => fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
        assert manifest["start_url"] == "./" and manifest["scope"] == "./" and manifest["icons"][0]["src"] == "icon.svg"
        page.wait_for_selector("[data-testid=offline][data-state=ready]", state="attached", timeout=120_000)
        scope = page.evaluate("() => navigator.serviceWorker.getRegistration().then(r => r.scope)")
        assert scope == server.base_url
        # the page comes from its build's saved copy (sw.js), so no network copy is preloaded for nothing
        preload = page.evaluate("() => navigator.serviceWorker.ready.then(r => r.navigationPreload.getState())")
        assert preload["enabled"] is False
    finally:
        page.context.close()


def test_site_works_under_a_sub_path(browser, dist_dir):
    """Item 8: GitHub Pages serves the site at /<repo>/."""
    srv = serve(dist_dir, base="/facespectra/")
    page = open_app(browser, srv.base_url)
    try:
        wait_ready(page)
        drop_files(page, files(2, seed=600))
        assert all(r["label"] in ("real", "fake", "uncertain") for r in results(page, 2))
        assert all(urlsplit(u).path.startswith("/facespectra/") for u in page.requests if u.startswith("http"))
    finally:
        page.context.close()
        srv.shutdown()


def test_page_survives_a_worker_that_dies_or_hangs(browser, dist_dir, tmp_path):
    """Issue 5: the detector really dies mid-batch and the page carries on.

    A copy of dist/ whose worker.js, for files starting with a magic prefix, either terminates itself
    (`self.close()`: the worker is gone and answers nothing, as after an out-of-memory kill; only the
    page's timeout notices) or throws an uncaught error (the page's worker.onerror fires). The copy also
    shortens the page's timeout from 90 s to 6 s so the test is quick. Both files get the crash message,
    the worker is restarted, and the rest of the batch is classified."""
    site = tmp_path / "site"
    shutil.copytree(dist_dir, site)
    worker = site / "worker.js"
    hook = ("  const bytes = new Uint8Array(msg.bytes);\n"
            "  const magic = new TextDecoder().decode(bytes.slice(0, 11));\n"
            "  if (magic === 'CRASH-CLOSE') { self.close(); return; }\n"
            "  if (magic === 'CRASH-THROW') { setTimeout(() => { throw new Error('boom'); }); return; }\n")
    text = worker.read_text()
    assert "  const bytes = new Uint8Array(msg.bytes);\n" in text
    worker.write_text(text.replace("  const bytes = new Uint8Array(msg.bytes);\n", hook))
    detector = site / "detector.js"
    detector.write_text(detector.read_text().replace("JOB_TIMEOUT_MS = 90_000", "JOB_TIMEOUT_MS = 6_000"))
    for p in (worker, detector):
        p.with_name(p.name + ".gz").unlink()
    srv = serve(site)
    page = open_app(browser, srv.base_url)
    try:
        wait_ready(page)
        batch = (files(2, seed=700) + [("dies.jpg", b"CRASH-CLOSE" + b"\0" * 100)] + files(1, seed=710)
                 + [("throws.jpg", b"CRASH-THROW" + b"\0" * 100)] + files(2, seed=720))
        drop_files(page, batch)
        rows = results(page, len(batch), timeout=180_000)
        assert [r["name"] for r in rows] == [n for n, _ in batch]
        by_name = {r["name"]: r for r in rows}
        for name in ("dies.jpg", "throws.jpg"):
            assert by_name[name]["label"] == "error"
            assert by_name[name]["error"] == "the detector crashed on this file; it was restarted"
        others = [r for r in rows if r["name"] not in ("dies.jpg", "throws.jpg")]
        assert all(r["label"] in ("real", "fake", "uncertain") for r in others)
        assert page.locator("[data-testid=status]").get_attribute("data-state") == "ready"
    finally:
        page.context.close()
        srv.shutdown()


# Installed before the page's scripts: which worker (by creation order) answered each classification.
COUNT_RESULTS_PER_WORKER = """
window.__answers = [];
const RealWorker = window.Worker;
let made = 0;
window.Worker = class extends RealWorker {
  constructor(...args) {
    super(...args);
    const index = made++;
    this.addEventListener("message", (e) => { if (e.data.type === "result") window.__answers.push(index); });
  }
};
"""


def test_a_batch_runs_on_every_worker_of_the_pool(browser, server):
    """One worker per core (2 on this machine, at most 4): all of them take files from one batch."""
    page = open_app(browser, server.base_url)
    page.context.add_init_script(COUNT_RESULTS_PER_WORKER)
    page.reload()
    try:
        wait_ready(page)
        wait_all_workers(page)
        size = min(page.evaluate("navigator.hardwareConcurrency"), 4)
        assert page.locator("[data-testid=status]").get_attribute("data-workers") == f"{size}/{size}"
        batch = files(8, seed=800)
        drop_files(page, batch)
        assert all(r["label"] in ("real", "fake", "uncertain") for r in results(page, len(batch)))
        answered_by = page.evaluate("window.__answers")
        assert len(answered_by) == len(batch) and set(answered_by) == set(range(size))
    finally:
        page.context.close()


def test_a_low_memory_device_gets_a_single_worker(browser, server):
    page = open_app(browser, server.base_url)
    page.context.add_init_script("Object.defineProperty(navigator, 'deviceMemory', {get: () => 2});")
    page.reload()
    try:
        wait_ready(page)
        wait_all_workers(page)
        assert page.locator("[data-testid=status]").get_attribute("data-workers") == "1/1"
        drop_files(page, files(2, seed=820))
        assert all(r["label"] in ("real", "fake", "uncertain") for r in results(page, 2))
    finally:
        page.context.close()
