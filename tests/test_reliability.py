"""Issue 16, reliable in the real world: one CSV rule for the CLI and the page, a queue that cannot stall,
the worker's policy on a header-less host, updates that keep offline use, and the smaller ones."""

import base64
import csv
import functools
import http.server
import io
import json
import shutil
import threading
import time
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest
from PIL import Image

import build
from browser_helpers import drop_files, results, wait_all_workers, wait_ready, worker_message_recorder
from conftest import encode, serve, texture, write_model
from facespectra import cli
from facespectra.runtime import csvrows

# File names a spreadsheet would run as formulas (or shift into one): every one must come out as text.
HOSTILE_NAMES = ['=HYPERLINK("http:__x","y").jpg', "+1.jpg", "-2.jpg", "@sum.jpg", "\ttab.jpg", "\rcr.jpg"]
ONE_CORE = "Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', {get: () => 1});"


def test_cli_csv_has_the_shared_columns_and_defuses_formula_names(tmp_path, monkeypatch, capsys):
    """Problem 4: the CLI writes hostile names (and the error of a broken one) with a leading apostrophe."""
    write_model(tmp_path / "w.json")
    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(HOSTILE_NAMES):
        (folder / name).write_bytes(encode(texture(96, seed=i), "PNG"))
    (folder / "=broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    monkeypatch.chdir(folder)
    names = sorted(HOSTILE_NAMES + ["=broken.jpg"])
    assert cli.main(["predict", "--weights", str(tmp_path / "w.json"), "--", *names]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    assert rows[0] == list(csvrows.COLUMNS) == ["path", "label", "verdict", "p_fake", "reason", "flags", "faces",
                                                 "error", "advice", "detectors"]
    assert [r[0] for r in rows[1:]] == ["'" + n for n in names]
    assert all(len(r) == len(csvrows.COLUMNS) for r in rows)
    broken = dict(zip(rows[0], rows[1 + names.index("=broken.jpg")]))
    assert broken["label"] == "error" and broken["p_fake"] == "" and broken["error"]


def test_csv_cells_write_missing_columns_empty_and_lists_joined():
    row = {"path": "-x.png", "label": "fake", "p_fake": 0.1 + 0.2, "flags": ["small", "heavy-jpeg"],
           "faces": [{"box": [0, 0, 1, 1]}, {"box": [1, 1, 2, 2]}], "error": None}
    cells = dict(zip(csvrows.COLUMNS, csvrows.csv_cells(row)))
    assert cells == {"path": "'-x.png", "label": "fake", "verdict": "", "p_fake": "0.30000000000000004", "reason": "",
                     "flags": "small;heavy-jpeg", "faces": "2", "error": "", "advice": "", "detectors": ""}
    assert csvrows.defuse("@") == "'@" and csvrows.defuse("") == "" and csvrows.defuse("a=b") == "a=b"


def open_page(browser, url, init_script=None, **context_kw):
    """A fresh context whose init script runs before the page's own scripts, then the app."""
    context = browser.new_context(**context_kw)
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.goto(url)
    return page


def labelled_count(page):
    return page.locator("[data-testid=result][data-label]").count()


@pytest.mark.browser
def test_why_mid_batch_on_one_worker_does_not_stall_the_batch(browser, server):
    """Problem 2: one core (navigator.hardwareConcurrency = 1, so one worker): "Why?" clicked on a finished
    row while the batch runs gets its explanation, and the batch still finishes with Clear and Export on."""
    page = open_page(browser, server.base_url, ONE_CORE, bypass_csp=True)
    try:
        wait_ready(page)
        wait_all_workers(page)
        assert page.locator("[data-testid=status]").get_attribute("data-workers") == "1/1"
        batch = [(f"one-{i:02d}.jpg", encode(texture(640, seed=900 + i), "JPEG", quality=85)) for i in range(30)]
        drop_files(page, batch)
        page.wait_for_function("() => document.querySelectorAll('[data-testid=result][data-label]').length >= 2")
        page.get_by_role("button", name="Why?").first.click()
        assert labelled_count(page) < len(batch), "the batch finished before Why? could be clicked mid-batch"
        page.wait_for_selector("[data-testid=explanation][data-state=ready]", timeout=60_000)
        page.wait_for_selector("#batch[hidden]", state="attached", timeout=60_000)
        assert labelled_count(page) == len(batch)
        assert page.locator("[data-testid=clear]").is_enabled() and page.locator("[data-testid=export]").is_enabled()
    finally:
        page.context.close()


class CountingHandler(http.server.BaseHTTPRequestHandler):
    """Another origin: it only counts the requests that reach it."""

    def do_GET(self):
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def other_origin():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
    srv.paths = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()


# What each worker reports of its attempt to reach the other origin.
COLLECT_PROBES = worker_message_recorder("__probes", "probe", "reached")


def poll(page, script, until, timeout_s=60):
    """page.evaluate(script) until until(value) holds (strict CSP forbids Playwright's string-evaluated waits)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(script)
        if until(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


@pytest.mark.browser
def test_no_other_origin_from_page_or_workers_on_a_header_less_host(browser, server, dist_dir, tmp_path, other_origin):
    """Problem 3: served with no Content-Security-Policy header (as GitHub Pages serves), under the real
    policy of the meta tag: a fetch to another origin from the page and from every worker of the pool
    (each tries one as it starts) never arrives. The dev server still sends the policy as a header."""
    counter, other = other_origin
    site = tmp_path / "site"
    shutil.copytree(dist_dir, site)
    worker = site / "worker.js"
    probe = (f"fetch({json.dumps(other + 'from-worker')}, {{mode: 'no-cors'}}).then(\n"
             "  () => self.postMessage({type: 'probe', reached: true}),\n"
             "  () => self.postMessage({type: 'probe', reached: false}));\n")
    worker.write_text(probe + worker.read_text())
    worker.with_name("worker.js.gz").unlink()
    srv = serve(site, csp_header=False)
    page = open_page(browser, srv.base_url, COLLECT_PROBES)
    try:
        assert "content-security-policy" not in {k.lower() for k in urlopen(srv.base_url).headers}
        wait_ready(page)
        size = int(page.locator("[data-testid=status]").get_attribute("data-workers").split("/")[1])
        probes = poll(page, "() => window.__probes", lambda found: len(found) == size)
        assert probes == [False] * size
        reached = page.evaluate("url => fetch(url, {mode: 'no-cors'}).then(() => true, () => false)", other + "from-page")
        assert reached is False
        assert counter.paths == []
    finally:
        page.context.close()
        srv.shutdown()
    with urlopen(server.base_url) as resp:  # the dev server keeps the header
        assert "worker-src 'self' blob:" in resp.headers["Content-Security-Policy"]


def switchable_server(site_link, directory):
    """A server of `site_link`, a symlink re-pointed to deploy another build, with Cache-Control: no-store
    so that between visits only the service worker's copy survives."""
    site_link.symlink_to(directory)
    return serve(site_link, cache_control="no-store")


def deploy(site_link, directory):
    tmp = site_link.with_name(site_link.name + ".new")
    tmp.symlink_to(directory)
    tmp.replace(site_link)  # atomic, as a host swaps a deploy


def weights_requested(page):
    return sorted({urlsplit(u).path.rsplit("/", 1)[-1] for u in page.requests if "/model-" in u})


@pytest.mark.browser
def test_a_redeploy_never_breaks_offline_use(browser, dist_dir, tmp_path):
    """Problem 1: online visit on build A, the host deploys build B (other weights, so other hashed files),
    an online visit saves B whole beside A, then offline reload: the page runs one complete build (A, which
    this tab still runs) and gets ready. With no tab of A left, the next visit runs B, and A's copy is gone."""
    weights_b = tmp_path / "model-b.json"
    model = json.loads(build.WEIGHTS.read_text())
    weights_b.write_text(json.dumps({**model, "threshold": 0.4}))
    build_b = build.build(dist=tmp_path / "build-b", weights=weights_b)
    name_a = json.loads((dist_dir / "build-manifest.json").read_text())["weights"]
    name_b = json.loads((build_b / "build-manifest.json").read_text())["weights"]
    assert name_a != name_b
    site = tmp_path / "site"
    srv = switchable_server(site, dist_dir)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.requests = []
        context.on("request", lambda req: page.requests.append(req.url))
        page.goto(srv.base_url)
        wait_ready(page)
        page.wait_for_selector("[data-testid=offline][data-state=ready]", state="attached", timeout=120_000)
        deploy(site, build_b)
        page.reload()
        wait_ready(page)
        waiting = poll(page, "() => navigator.serviceWorker.getRegistration().then(r => Boolean(r.waiting))", bool, 120)
        assert waiting, "the new build was not saved"
        assert poll(page, "() => document.querySelector('[data-testid=offline]').dataset.update", bool, 10) == "saved"
        context.set_offline(True)
        page.requests.clear()
        page.reload()
        wait_ready(page)
        assert weights_requested(page) == [name_a]
        drop_files(page, [("offline-a.jpg", encode(texture(192, seed=950), "JPEG", quality=85))])
        assert results(page, 1)[0]["label"] not in (None, "error")
        page.close()

        # No page runs build A now: B takes over, still offline. The browser activates the waiting build once
        # it has seen the last tab of A go, which it does asynchronously: a visit begun before that still
        # runs A, so visit (and leave) until B runs, within a bound.
        for _ in range(10):
            page = context.new_page()
            page.requests = []
            page.goto(srv.base_url)
            wait_ready(page)
            if weights_requested(page) == [name_b]:
                break
            page.close()
            time.sleep(1.0)
        assert weights_requested(page) == [name_b]
        caches = page.evaluate("() => caches.keys()")
        assert len([c for c in caches if c.startswith("facespectra-")]) == 1, caches
    finally:
        context.close()
        srv.shutdown()


# Installed before the page's scripts: how many workers the page has created.
COUNT_WORKERS = """
window.__workers = 0;
const RealWorker = window.Worker;
window.Worker = class extends RealWorker {
  constructor(...args) { super(...args); window.__workers += 1; }
};
"""


@pytest.mark.parametrize("breakage", ["missing weights file", "worker that fails to start"])
@pytest.mark.browser
def test_a_detector_that_cannot_load_says_so_and_files_get_error_rows(browser, dist_dir, tmp_path, breakage):
    """Problems 1 and 5: a build with a file missing, or whose worker fails as it starts, says in words what
    went wrong and what to do (within seconds, not stuck at a percentage); files dropped meanwhile get error
    rows instead of "waiting…" for ever, so the batch ends; a broken worker is not restarted in a loop."""
    site = tmp_path / "site"
    shutil.copytree(dist_dir, site)
    if breakage == "missing weights file":
        weights = json.loads((site / "build-manifest.json").read_text())["weights"]
        (site / weights).unlink()
        (site / (weights + ".gz")).unlink()
    else:
        worker = site / "worker.js"
        worker.write_text("throw new Error('this build is broken');\n" + worker.read_text())
        worker.with_name("worker.js.gz").unlink()
    srv = serve(site)
    page = open_page(browser, srv.base_url, COUNT_WORKERS)
    try:
        drop_files(page, [(f"early-{i}.jpg", encode(texture(128, seed=960 + i), "JPEG")) for i in range(2)])
        page.wait_for_selector("[data-testid=status][data-state=error]", state="attached", timeout=20_000)
        status = page.locator("[data-testid=status]").text_content()
        assert "could not load" in status and "Reload the page" in status, status
        if breakage == "missing weights file":  # the message names the file, not what the 404 page said
            assert f"{weights} could not be downloaded (HTTP 404)" in status, status
        rows = results(page, 2, timeout=5_000)
        assert [r["label"] for r in rows] == ["error", "error"]
        assert all(r["error"].startswith("not checked: the detector could not load") for r in rows)
        assert page.locator("#batch").is_hidden() and page.locator("[data-testid=clear]").is_enabled()
        assert page.locator("[data-testid=export]").is_disabled()  # the CSV's rules come from the detector
        workers = page.evaluate("window.__workers")
        page.wait_for_timeout(1000)
        assert page.evaluate("window.__workers") == workers <= 4, "the broken worker was restarted"
    finally:
        page.context.close()
        srv.shutdown()


# Installed before the page's scripts: rows put into the results table (appends and moves), and the
# explanations the workers have sent.
COUNT_ROW_MOVES_AND_EXPLANATIONS = """
window.__rowMoves = 0;
window.__explanations = 0;
document.addEventListener("DOMContentLoaded", () => {
  new MutationObserver((records) => { for (const r of records) window.__rowMoves += r.addedNodes.length; })
    .observe(document.querySelector("#results"), { childList: true });
});
const RealWorker = window.Worker;
window.Worker = class extends RealWorker {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (e) => { if (e.data.type === "explanation") window.__explanations += 1; });
  }
};
"""


def big_photo(side):
    """A large, cheap-to-make photo-like JPEG (gradient plus noise), slow to decode and explain."""
    gradient = Image.linear_gradient("L").resize((side, side))
    return encode(Image.blend(gradient, Image.effect_noise((side, side), 30), 0.3).convert("RGB"), "JPEG", quality=85)


@pytest.mark.browser
def test_1000_files_sorted_by_probability_and_the_last_why_wins(browser, server):
    """Problem 5: a batch of 1000 small files with the table sorted by probability completes sorted, each
    finished row moved once into place (not every row re-appended per file). Then "Why?" on a large image
    and at once on a small one: the large one's explanation, answered last, must not replace the small one's."""
    page = open_page(browser, server.base_url, COUNT_ROW_MOVES_AND_EXPLANATIONS, bypass_csp=True)
    try:
        wait_ready(page)
        wait_all_workers(page)
        page.select_option("[data-testid=sort]", "p-desc")
        n = 1000
        drop_files(page, [(f"k-{i:04d}.jpg", encode(texture(64, seed=i, upsample=1 + i % 2), "JPEG", quality=90))
                          for i in range(n)])
        page.wait_for_function("n => document.querySelectorAll('[data-testid=result][data-label]').length >= n",
                               arg=n, timeout=400_000)
        page.wait_for_selector("#batch[hidden]", state="attached")
        ps = page.locator("[data-testid=result]").evaluate_all("rows => rows.map(r => r.dataset.pFake ?? null)")
        assert len(ps) == n and None not in ps
        assert [float(p) for p in ps] == sorted((float(p) for p in ps), reverse=True)
        moves = page.evaluate("window.__rowMoves")
        assert moves <= 3 * n, f"{moves} row insertions for {n} files: rows are re-appended per file"

        drop_files(page, [("big.jpg", big_photo(3000)), ("small.jpg", encode(texture(96, seed=5), "JPEG"))])
        page.wait_for_function("n => document.querySelectorAll('[data-testid=result][data-label]').length >= n",
                               arg=n + 2, timeout=60_000)
        page.evaluate("""() => {
            const why = (name) => document.querySelector(`[data-testid=result][data-name="${name}"] button.explain`);
            why("big.jpg").click();
            why("small.jpg").click();
        }""")
        page.wait_for_function("() => window.__explanations >= 2", timeout=60_000)
        page.wait_for_timeout(100)  # the last answer's handler has run
        section = page.locator("[data-testid=explanation]")
        assert section.get_attribute("data-state") == "ready"
        assert section.get_attribute("data-name") == "small.jpg"
    finally:
        page.context.close()


# Installed before the page's scripts: every text a live region takes (by region), and the files read whole.
WATCH_LIVE_REGIONS_AND_READS = """
window.__spoken = {};
window.__read = [];
const realRead = Blob.prototype.arrayBuffer;
Blob.prototype.arrayBuffer = function () { window.__read.push(this.name ?? "(blob)"); return realRead.call(this); };
document.addEventListener("DOMContentLoaded", () => {
  for (const region of document.querySelectorAll("[aria-live], [role=status], [role=alert]")) {
    const key = region.id || region.dataset.testid || region.tagName;
    window.__spoken[key] = [];
    new MutationObserver(() => window.__spoken[key].push(region.textContent))
      .observe(region, { childList: true, characterData: true, subtree: true });
  }
});
"""


@pytest.mark.browser
def test_size_limit_page_wide_drop_thumbnails_and_quiet_live_regions(browser, server, tmp_path):
    """Problem 5: a file over the byte limit is refused from its size, never read, with a message naming
    the size; files dropped outside the drop zone are taken (the browser does not open them in place of the
    page); thumbnails are decoded at thumbnail size; the live regions speak on state changes only: no
    download percentages, no per-file summaries."""
    huge = tmp_path / "huge.bin"
    with open(huge, "wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: no disk space, no memory
    page = open_page(browser, server.base_url, WATCH_LIVE_REGIONS_AND_READS, bypass_csp=True)
    try:
        wait_ready(page)
        wait_all_workers(page)
        page.set_input_files("input[type=file][data-testid=file-input]", [str(huge)])
        rows = results(page, 1)
        assert rows[0]["label"] == "error" and rows[0]["error"] == "file is 200 MiB; the limit is 64 MiB"
        assert "huge.bin" not in page.evaluate("window.__read")

        outside = encode(texture(128, seed=970), "PNG")
        prevented = page.evaluate("""(b64) => {
            const dt = new DataTransfer();
            dt.items.add(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], "outside.png"));
            const drop = new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true });
            document.querySelector("footer").dispatchEvent(drop);
            return drop.defaultPrevented;
        }""", base64.b64encode(outside).decode())
        assert prevented, "the browser would open the dropped file in place of the page"
        batch = [(f"quiet-{i}.jpg", encode(texture(128, seed=980 + i), "JPEG")) for i in range(4)]
        batch.append(("wide.jpg", encode(texture(600, seed=990).resize((600, 400)), "JPEG")))
        drop_files(page, batch)
        names = [r["name"] for r in results(page, 7)]
        assert "outside.png" in names and all(n in names for n, _ in batch)
        page.locator("[data-name='wide.jpg']").scroll_into_view_if_needed()  # made when in view
        thumb = page.locator("[data-name='wide.jpg'] img.thumb[src^='blob:']")
        thumb.wait_for(state="attached", timeout=10_000)
        assert thumb.evaluate("t => [t.naturalWidth, t.naturalHeight]") == [144, 96]  # decoded at thumbnail size
        assert (thumb.get_attribute("data-width"), thumb.get_attribute("data-height")) == ("600", "400")
        assert page.locator("[data-name='huge.bin'] img.thumb").get_attribute("src") is None
        page.wait_for_selector("#batch[hidden]", state="attached")
        page.wait_for_function("() => document.querySelector('#announce').textContent.startsWith('Done.')")

        spoken = page.evaluate("window.__spoken")
        status = spoken["status"]
        assert not any("%" in text or "MB" in text for text in status), status
        assert all(a != b for a, b in zip(status, status[1:])), status
        assert len(status) <= 4, status
        assert "summary" not in spoken  # it changes with every file: not a live region
        assert len(spoken["announce"]) <= 3, spoken["announce"]  # the ends of the batches
    finally:
        page.context.close()


@pytest.mark.browser
def test_a_stalled_download_is_said_in_words(browser, dist_dir, tmp_path):
    """Problem 1's "never sits at a progress number": a host that stops sending Pyodide's wasm mid-load.
    The page's stall limit (20 s) is shortened to 2 s in a copy, so the test is quick."""
    site = tmp_path / "site"
    shutil.copytree(dist_dir, site)
    app = site / "app.js"
    text = app.read_text()
    assert "const STALL_MS = 20_000;" in text
    app.write_text(text.replace("const STALL_MS = 20_000;", "const STALL_MS = 2_000;"))
    app.with_name("app.js.gz").unlink()
    release = threading.Event()

    class StallingHandler(build.StaticHandler):
        def send_head(self):
            if self.path.endswith("pyodide.asm.wasm"):
                release.wait(60)  # the connection hangs
            return super().send_head()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(StallingHandler, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    page = open_page(browser, f"http://127.0.0.1:{srv.server_address[1]}/")
    try:
        page.wait_for_selector("[data-testid=status][data-stalled=true]", state="attached", timeout=30_000)
        status = page.locator("[data-testid=status]").text_content()
        assert "stalled" in status and "reload the page" in status and "%" not in status, status
    finally:
        release.set()
        page.context.close()
        srv.shutdown()


@pytest.mark.browser
def test_restarts_are_bounded(browser, dist_dir, tmp_path):
    """Problem 5: a worker that crashes on every file is restarted at most 3 times; the 4th crash leaves it
    down with a clear error, and the files after it get error rows instead of waiting (one worker)."""
    site = tmp_path / "site"
    shutil.copytree(dist_dir, site)
    worker = site / "worker.js"
    line = "  const bytes = new Uint8Array(msg.bytes);\n"
    hook = line + ("  if (new TextDecoder().decode(bytes.slice(0, 5)) === 'CRASH') "
                   "{ setTimeout(() => { throw new Error('boom'); }); return; }\n")
    assert line in worker.read_text()
    worker.write_text(worker.read_text().replace(line, hook))
    worker.with_name("worker.js.gz").unlink()
    srv = serve(site)
    page = open_page(browser, srv.base_url, ONE_CORE + COUNT_WORKERS)
    try:
        wait_ready(page)
        batch = ([("first.jpg", encode(texture(128, seed=1000), "JPEG"))]
                 + [(f"crash-{i}.jpg", b"CRASH" + b"\0" * 100) for i in range(4)]
                 + [("after.jpg", encode(texture(128, seed=1001), "JPEG"))])
        drop_files(page, batch)
        rows = {r["name"]: r for r in results(page, len(batch), timeout=120_000)}
        assert rows["first.jpg"]["label"] != "error"
        assert [rows[f"crash-{i}.jpg"]["error"] for i in range(4)] == [
            "the detector crashed on this file; it was restarted"] * 3 + [
            "the detector crashed on this file and was not restarted"]
        assert rows["after.jpg"]["error"].startswith("not checked: the detector could not load")
        status = page.locator("[data-testid=status]")
        assert status.get_attribute("data-state") == "error"
        assert "crashed 4 times" in status.text_content() and "Reload the page" in status.text_content()
        assert page.evaluate("window.__workers") == 4  # the first and its 3 replacements
    finally:
        page.context.close()
        srv.shutdown()
