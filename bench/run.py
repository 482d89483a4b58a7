#!/usr/bin/env python3
"""The performance benchmark of issue 6: one run on this machine, medians over repetitions.

    python bench/run.py [--out FILE.json] [--compare OLD.json] [--reps N] [--image-reps N] [--batch N] [--batch-reps N]

Measures, against dist/ served by build.py's dev server (gzip, immutable caching) in Debian's
Chromium, what a visitor feels (issue 18):
- navigation -> ready (cold: fresh context; warm: second visit in the same context, after the first
  has saved the app for offline use), with the worker's start-up stages;
- drop -> verdict for a file dropped the moment the page is ready and for the next one, stage by stage
  (read, to the worker, Python, back, drawn), for portraits and for pictures without a face;
- drop -> last verdict for 100 files against `facespectra predict` on the same files (alternating), for
  pictures without a face and for seed portraits;
- the bytes transferred before the first verdict (--visits-only: the visits and bytes alone).
Also ms per image inside the worker (the `ms` field of the result message: the Python call only; every
worker first checks each image once, as CPython is warmed) against CPython running the same modules;
the trainer's feature extraction (all cores; cold and warm cache); face finding per image (Pyodide under
Node against CPython; --faces-only runs that step alone); the CNN's features per image (issue 25: Pyodide
under Node against CPython) and the second detector in the page (ready -> CNN ready, cold and warm; a 512 px
face JPEG dropped on a page with both detectors -> verdict; --effnet-only runs these); teaching a model in
the page (issue 19: 20 real + 20 generated examples made as tests/test_teach.py makes them, 384 px and
1024 px; --teach-only).
Page and CPython timings alternate call by call (batch by batch), so a ratio compares the two under the
same load of a shared host. Numbers go to bench/results/<timestamp>.json (or --out) so runs can be
compared with --compare. Images are synthetic and camera-like (smooth shading + texture + sensor noise),
never faces, except the portraits, read from ../shared's seed faces when it is there (never copied into
the project).
"""

import argparse
import functools
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "py"), str(ROOT / "tests")]

import build  # noqa: E402
from bench import timing  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, SEED_DATA  # noqa: E402
from facespectra.train import featuretable  # noqa: E402
from facespectra.train.augment import Variant  # noqa: E402
from facespectra.runtime.classify import classify_bytes  # noqa: E402
from facespectra.train.dataset import Item  # noqa: E402
from facespectra.train.featcache import FeatureCache  # noqa: E402
from facespectra.runtime.model import SpectralModel  # noqa: E402

TIMEOUT_MS = 300_000
READY = "[data-testid=status][data-state=ready]"
NETWORK_READY = "[data-testid=network-status][data-state=ready]"
ALL_WORKERS = '[data-testid=status][data-all-ready="true"]'
ALL_NETWORKS = '[data-testid=network-status][data-all-ready="true"]'  # every worker has the CNN too
OFFLINE_READY = "[data-testid=offline][data-state=ready]"
SIZES = {"jpeg256": (256, 256, "JPEG"), "jpeg1024": (1024, 1024, "JPEG"),
         "jpeg4000x3000": (4000, 3000, "JPEG"), "png1024": (1024, 1024, "PNG")}
TARGETS = {"per_image_ratio_1024": 1.5, "batch_ratio": 1.5, "cold_ready_s": 1.5, "warm_ready_s": 0.8,
           "first_verdict_s": 0.15, "next_verdict_s": 0.08, "bytes_before_verdict": 6_000_000, "faces_page_ms": 25.0, "teach_384_s": 30.0,
           "effnet_page_ms": 250.0, "effnet_cpython_ms": 60.0, "resampling_cpython_ms": 15.0,
           "web512_verdict_s": 0.6}
TEACH_SIDES = (384, 1024)

# Installed before any page script: records when the status turns ready (and the second detector's status),
# when files are picked, when each file is posted to a worker, when rows get their label, every result message
# of the worker (for its `ms`, `received` and `sent` fields) and when it arrives, and the workers' start-up marks.
PROBE = """
window.__bench = {readyAt: null, networkReadyAt: null, changeAt: [], labelledAt: [], results: []};
new MutationObserver((records) => {
  for (const r of records) {
    const el = r.target;
    if (el.dataset && el.dataset.testid === "status" && el.dataset.state === "ready" && window.__bench.readyAt === null)
      window.__bench.readyAt = performance.now();
    if (el.dataset && el.dataset.testid === "network-status" && el.dataset.state === "ready"
        && window.__bench.networkReadyAt === null)
      window.__bench.networkReadyAt = performance.now();
    if (r.attributeName === "data-label" && el.dataset.testid === "result") window.__bench.labelledAt.push(performance.now());
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-state", "data-label"]});
document.addEventListener("change", () => window.__bench.changeAt.push(performance.now()), true);
Object.assign(window.__bench, {posted: [], received: [], marks: []});
const RealWorker = window.Worker;
window.Worker = class extends RealWorker {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (e) => {
      if (e.data.type === "result") { window.__bench.received.push(performance.now()); window.__bench.results.push(e.data); }
      if (e.data.marks) window.__bench.marks.push(e.data.marks); // start-up stages: "info", then "ready" once warm
    });
  }
  postMessage(msg, transfer) {
    if (msg && msg.type === "classify") window.__bench.posted.push(performance.now());
    return super.postMessage(msg, transfer);
  }
};
"""


def camera_like(w, h, seed):
    """Smooth shading + mid-frequency texture + sensor noise, RGB uint8: a camera photo's spectrum, no face."""
    rng = np.random.default_rng(seed)
    shading = Image.fromarray(rng.integers(40, 215, (6, 8, 3), dtype=np.uint8), "RGB").resize((w, h), Image.BICUBIC)
    tex = Image.fromarray(rng.integers(0, 255, (max(h // 8, 1), max(w // 8, 1)), dtype=np.uint8), "L")
    tex = np.asarray(tex.resize((w, h), Image.BILINEAR), dtype=np.int16)[..., None] // 5 - 25
    img = np.asarray(shading, dtype=np.int16) + tex + rng.integers(-6, 7, (h, w, 3), dtype=np.int16)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def encode(img, fmt):
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def median(xs):
    return float(statistics.median(xs))


class App:
    """Chromium + the dev server on dist/."""

    def __init__(self, playwright):
        self.server = build.make_server(build.DIST, port=0)
        self.sent = []  # (path, body bytes as sent): counted by the server, whoever fetched (page, worker, service worker)
        handler = self.server.RequestHandlerClass
        sent = self.sent

        class Counting(handler.func):
            def copyfile(self, source, outputfile):
                data = source.read()
                outputfile.write(data)
                sent.append((self.path, len(data)))

        self.server.RequestHandlerClass = functools.partial(Counting, *handler.args, **handler.keywords)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

    def close(self):
        self.browser.close()
        self.server.shutdown()

    def visit(self, context):
        """Open the page in context; -> (page, ms from navigation start to ready)."""
        page = context.new_page()
        page.goto(self.server.base_url)
        page.wait_for_selector(READY, state="attached", timeout=TIMEOUT_MS)
        return page, page.evaluate("window.__bench.readyAt")

    def context(self):
        ctx = self.browser.new_context()
        ctx.add_init_script(PROBE)
        return ctx


def drop(page, files):
    page.set_input_files("input[type=file][data-testid=file-input]",
                         [{"name": n, "mimeType": "application/octet-stream", "buffer": b} for n, b in files])


def wait_results(page, n):
    page.wait_for_function("(n) => window.__bench.results.length >= n", arg=n, timeout=TIMEOUT_MS, polling=50)
    return page.evaluate("window.__bench.results")


FILE_STAGES = ("read", "to worker", "python", "back", "render")
START_STAGES = ("script", "pyodideScript", "interpreter", "pyodide", "imports", "model", "warm")


def file_stages(b, origin, i):
    """Where the i-th dropped file's time went (ms): the page reading it and adding its row (change ->
    posted), the message reaching the worker and waiting there (e.g. for the warm-up check), Python, the
    row's message back, drawing the row (-> its label is set); and in all (change -> label)."""
    r = b["results"][i]
    got, posted = r["received"] - origin, b["posted"][i]
    return {"read": posted - b["changeAt"][i], "to worker": got - posted, "python": r["ms"],
            "back": b["received"][i] - (r["sent"] - origin), "render": b["labelledAt"][i] - b["received"][i],
            "total": b["labelledAt"][i] - b["changeAt"][i]}


def visit_and_drop(app, ctx, first, nxt):
    """Open the page, drop `first` the moment it is ready, then `nxt` once its verdict is shown, as a
    visitor would. -> {ready_s, stages: start-up marks (ms after navigation), first, next: file_stages}."""
    page, ms = app.visit(ctx)
    for i, data in enumerate((first, nxt)):
        drop(page, [(f"visitor{i}.jpg", data)])
        page.wait_for_function("(n) => window.__bench.labelledAt.length >= n", arg=i + 1, timeout=TIMEOUT_MS)
    b, origin = page.evaluate("window.__bench"), page.evaluate("performance.timeOrigin")
    marks = {k: v - origin for m in b["marks"][:2] for k, v in m.items() if k != "fromSnapshot"}
    return page, {"ready_s": ms / 1000, "from_snapshot": b["marks"][0]["fromSnapshot"], "stages": marks,
                  "drop_after_ready_ms": b["changeAt"][0] - b["readyAt"],  # this driver's own latency
                  "first": file_stages(b, origin, 0), "next": file_stages(b, origin, 1)}


def visit_files(batch_file):
    """What visitors drop, by kind -> (first file, next file): portraits (faces filling the frame, as in most
    files a face checker gets; two seed portraits, when ../shared holds them) and camera-like pictures
    without a face (the face finder's worst case: both of its looks)."""
    out = {}
    seed = SEED_DATA / "real"
    if seed.is_dir():
        first, nxt = sorted(seed.iterdir())[:2]
        out["portrait"] = (first.read_bytes(), nxt.read_bytes())
    out["no face"] = (encode(camera_like(1024, 1024, 1), "JPEG"), batch_file)
    return out


def bench_visits(app, reps, files):
    """What a visitor feels, `reps` times per kind of file: a first visit (fresh context, nothing cached) and
    a return visit (same context, once the first has saved the app for offline use: a visit made while that
    copy is still running would measure the two competing for this host's two cores). On each, the kind's
    first file is dropped the moment the page says it is ready, its next file once the first verdict is shown.
    Ready times are over all visits; drop -> verdict is per kind of file (`drops`)."""
    runs = {"cold": [], "warm": []}
    drops = {}
    for _ in range(reps):
        for label, (first, nxt) in files.items():
            ctx = app.context()
            page, cold = visit_and_drop(app, ctx, first, nxt)
            page.wait_for_selector(OFFLINE_READY, state="attached", timeout=TIMEOUT_MS)
            page.close()
            page, warm = visit_and_drop(app, ctx, first, nxt)
            ctx.close()
            for kind, run in (("cold", cold), ("warm", warm)):
                runs[kind].append({**run, "file": label})
    out = {"visits": runs}
    for kind, vs in runs.items():
        out[f"{kind}_ready_s"] = median([v["ready_s"] for v in vs])
        out[f"{kind}_start_stages_ms"] = {s: median([v["stages"][s] for v in vs]) for s in START_STAGES
                                          if all(s in v["stages"] for v in vs)}
        for label in files:
            mine = [v for v in vs if v["file"] == label]
            d = drops.setdefault(label, {})
            d[f"{kind}_drop_after_ready_ms"] = median([v["drop_after_ready_ms"] for v in mine])
            for which in ("first", "next"):
                d[f"{kind}_{which}_verdict_s"] = median([v[which]["total"] for v in mine]) / 1000
                d[f"{kind}_{which}_stages_ms"] = {s: median([v[which][s] for v in mine]) for s in FILE_STAGES}
    out["drops"] = drops
    return out


def bench_bytes(app, first_image):
    """Body bytes the server sent (gzip where it serves gzip), from navigation to the first verdict, cold. The
    CNN's weights are not counted (they are listed): the worker fetches them in the background once it is warm,
    and no verdict waits for them."""
    network = json.loads((build.DIST / "build-manifest.json").read_text())["network"]
    ctx = app.context()
    del app.sent[:]
    page, _ = app.visit(ctx)
    drop(page, [("first.jpg", first_image)])
    wait_results(page, 1)
    sent = list(app.sent)
    ctx.close()
    per_path = {}
    for path, n in sent:
        key = path.removeprefix("/")
        per_path[key] = per_path.get(key, 0) + n
    return {"bytes_before_verdict": sum(n for path, n in per_path.items() if path != network),
            "transferred": dict(sorted(per_path.items()))}


def asset_sizes():
    """Each dist asset's size as served: its .gz twin where there is one."""
    out = {}
    for p in sorted(build.DIST.rglob("*")):
        if p.is_file() and p.suffix != ".gz":
            gz = p.with_name(p.name + ".gz")
            out[p.relative_to(build.DIST).as_posix()] = {"bytes": p.stat().st_size,
                                                         "served": (gz if gz.exists() else p).stat().st_size}
    return out


def warm_workers(page, images):
    """Every worker of the pool checks each image once, as CPython warms its per-shape caches before
    it is timed: one round per image, as many copies as workers (the queue gives each idle worker one).
    -> (number of results so far, workers)."""
    workers = int(page.locator("[data-testid=status]").get_attribute("data-workers").split("/")[0])
    n = 0
    for key, data in images.items():
        drop(page, [(f"warm-{key}-{i}", data) for i in range(workers)])
        n += workers
        wait_results(page, n)
    return n, workers


def bench_images(app, images, model, reps):
    """Latency per image, page and CPython interleaved (each page call is followed by the same call in
    CPython), so both see the same load on a shared host. The page: the whole pool loaded and warmed,
    one file at a time so no two Python calls overlap; CPython warmed the same way."""
    ctx = app.context()
    page, _ = app.visit(ctx)
    page.wait_for_selector(ALL_WORKERS, state="attached", timeout=TIMEOUT_MS)
    page.wait_for_selector(ALL_NETWORKS, state="attached", timeout=TIMEOUT_MS)
    warm, _ = warm_workers(page, images)
    for data in images.values():
        cpython_call(data, model)
    page_ms, cpython_ms = {key: [] for key in images}, {key: [] for key in images}
    labels = set()
    for key, data in images.items():
        for i in range(reps):
            drop(page, [(f"{key}-{i}", data)])
            warm += 1
            result = wait_results(page, warm)[-1]
            labels.add(result["label"])
            page_ms[key].append(result["ms"])
            t = time.perf_counter()
            cpython_call(data, model)
            cpython_ms[key].append((time.perf_counter() - t) * 1000)
    ctx.close()
    if "error" in labels:
        raise SystemExit("bench: the page could not classify a benchmark image")
    return ({key: median(v) for key, v in page_ms.items()}, {key: median(v) for key, v in cpython_ms.items()})


def batch_files(n):
    """The batches of n files, by kind: camera-like pictures without a face (always) and, when ../shared
    holds the seed faces, n of them (real and generated, alternating), as a visitor checking a folder of
    face photos drops them."""
    out = {"no face": [(f"batch{i:03d}.jpg", encode(camera_like(1024, 1024, 100 + i), "JPEG")) for i in range(n)]}
    if SEED_DATA.is_dir():
        paths = [p for pair in zip(*(sorted((SEED_DATA / c).iterdir()) for c in ("real", "fake"))) for p in pair][:n]
        out["portrait"] = [(f"face{i:03d}.jpg", p.read_bytes()) for i, p in enumerate(paths)]
    return out


def bench_batch(app, batch, reps):
    """A folder of files, as a visitor drops it on a page that is ready with every worker (one per core)
    loaded and warmed, against `facespectra predict` on the same files (one process, from its start to
    its CSV): drop -> last verdict, alternating `reps` times. -> (page seconds, CLI seconds, workers)."""
    ctx = app.context()
    page, _ = app.visit(ctx)
    page.wait_for_selector(ALL_WORKERS, state="attached", timeout=TIMEOUT_MS)
    page.wait_for_selector(ALL_NETWORKS, state="attached", timeout=TIMEOUT_MS)
    done, workers = warm_workers(page, {"warm": batch[0][1]})
    page_s, cli_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for name, data in batch:
            (folder / name).write_bytes(data)
        cli = [sys.executable, "-m", "facespectra.cli", "predict", str(folder), "--csv", str(Path(tmp) / "out.csv")]
        for _ in range(reps):
            page.evaluate("window.__bench.changeAt = []; window.__bench.labelledAt = []")
            page.click("[data-testid=clear]")  # a fresh table each round, as on the first
            # from the folder: Playwright refuses more than 50 MB of file contents in one call
            page.set_input_files("input[type=file][data-testid=file-input]", sorted(folder.iterdir()))
            done += len(batch)
            wait_results(page, done)
            page.wait_for_function("(n) => window.__bench.labelledAt.length >= n", arg=len(batch), timeout=TIMEOUT_MS)
            t = page.evaluate("[window.__bench.changeAt[0], window.__bench.labelledAt[window.__bench.labelledAt.length - 1]]")
            page_s.append((t[1] - t[0]) / 1000)
            t = time.perf_counter()
            subprocess.run(cli, check=True, capture_output=True, cwd=ROOT)
            cli_s.append(time.perf_counter() - t)
    ctx.close()
    return median(page_s), median(cli_s), workers


def bench_teach(app, n):
    """Seconds from "Teach a model" to the cross-validated estimate in the page, and the fit's share (the
    rest is the examples' features and JPEG re-saves on every worker), for n real + n generated examples."""
    from test_teach import examples

    ctx = app.context()
    page, _ = app.visit(ctx)
    page.wait_for_selector(ALL_WORKERS, state="attached", timeout=TIMEOUT_MS)
    page.wait_for_selector(ALL_NETWORKS, state="attached", timeout=TIMEOUT_MS)
    status = page.locator("[data-testid=teach-status]")
    out = {}
    for side in TEACH_SIDES:
        real, fake = examples(n, seed=side, side=side)
        for kind, files in (("real", real), ("fake", fake)):
            page.set_input_files(f"input[data-testid=teach-{kind}]", [
                {"name": f"{kind}{i}.jpg", "mimeType": "image/jpeg", "buffer": b} for i, b in enumerate(files)])
        page.click("[data-testid=teach-start]")
        page.wait_for_selector("[data-testid=teach-status][data-state=training]", state="attached")
        page.wait_for_selector("[data-testid=teach-status][data-state=done], [data-testid=teach-status][data-state=error]",
                               state="attached", timeout=TIMEOUT_MS)
        if status.get_attribute("data-state") != "done":
            raise SystemExit(f"bench: teaching failed: {status.text_content()}")
        out[f"teach_{side}_s"] = float(status.get_attribute("data-ms")) / 1000
        out[f"teach_{side}_fit_s"] = float(status.get_attribute("data-fit-ms")) / 1000
    ctx.close()
    return {**out, "teach_images": 2 * n}


def cpython_call(data, model):
    """What the worker's Python call does: classify and serialise the row."""
    return json.dumps(classify_bytes(data, model))


def bench_trainer(model, n):
    """featuretable.build as `train` runs it: one process per core, identity variant, cold then warm cache."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        items = []
        for i in range(n):
            path = tmp / f"img{i:03d}.jpg"
            path.write_bytes(encode(camera_like(1024, 1024, 1000 + i), "JPEG"))
            items.append(Item(path, i % 2))
        cache = FeatureCache(tmp / "cache")
        configs = {model.config.name: model.config}
        rates = {}
        for kind in ("cold", "warm"):
            t = time.perf_counter()
            table = featuretable.build(items, lambda *_: [Variant()], configs, jobs=os.cpu_count(), cache=cache)
            rates[kind] = n / (time.perf_counter() - t)
            assert not table.skipped, table.skipped
    return {"trainer_images_per_s": rates["cold"], "trainer_warm_cache_images_per_s": rates["warm"],
            "trainer_images": n, "trainer_jobs": os.cpu_count()}


def face_images():
    """Images for face finding: camera-like pictures without a face (the detector's worst case, both of its
    looks) and, when ../shared holds the seed portraits, one portrait (a face filling the frame: one look)."""
    out = {"camera1024 (no face)": encode(camera_like(1024, 1024, 50), "JPEG"),
           "camera4000x3000 (no face)": encode(camera_like(4000, 3000, 51), "JPEG")}
    seed = SEED_DATA / "real"
    if seed.is_dir():
        out["seed portrait 1024"] = sorted(seed.iterdir())[0].read_bytes()
    return out


def bench_faces(reps):
    """ms per image of runtime.faces.find_faces on a decoded image: CPython here, Pyodide under Node from
    dist/ (bench/pyodide_timing.mjs); the worker's check adds it to the spectrum's time. One after the other,
    not interleaved: compare the two within a run."""
    images = face_images()
    cpython = {name: timing.find_faces_ms(data, reps) for name, data in images.items()}
    return {"faces_cpython_ms": cpython, "faces_page_ms": node_timings("find_faces_ms", images, reps)}


def node_timings(function, images, reps):
    """{name: ms} of bench/timing.py's `function` on each image file in Pyodide under Node from dist/
    (bench/pyodide_timing.mjs)."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for i, (name, data) in enumerate(images.items()):
            paths[name] = Path(tmp) / f"image{i}.img"
            paths[name].write_bytes(data)
        out = subprocess.run(["node", str(ROOT / "bench" / "pyodide_timing.mjs"), str(build.DIST), str(reps), function,
                              *map(str, paths.values())],
                             capture_output=True, text=True, check=True).stdout
        page = json.loads(out.strip().splitlines()[-1])
    return {name: page[str(p)] for name, p in paths.items()}


def bench_effnet(reps):
    """ms per image of runtime.effnet.features (the face's square at the network's input size, its
    features): CPython here, Pyodide under Node from dist/ with its own runtime and CNN weights
    (bench/pyodide_timing.mjs), one after the other. A seed portrait when ../shared holds them, and a
    camera-like 512 px picture (a web-sized face)."""
    images = {"camera512": encode(camera_like(512, 512, 52), "JPEG")}
    seed = SEED_DATA / "real"
    if seed.is_dir():
        images["seed portrait 1024"] = sorted(seed.iterdir())[0].read_bytes()
    cpython = {name: timing.effnet_ms(data, reps) for name, data in images.items()}
    return {"effnet_cpython_ms": cpython,
            "effnet_page_ms": node_timings("effnet_ms", images, reps)}


def web512():
    """A web-sized face photo: a seed portrait downscaled to 512 px, JPEG q85 (a camera-like 512 px picture
    without a face when ../shared is not there)."""
    seed = SEED_DATA / "real"
    if not seed.is_dir():
        return encode(camera_like(512, 512, 53), "JPEG")
    img = Image.open(sorted(seed.iterdir())[0]).convert("RGB").resize((512, 512), Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def bench_network(app, reps):
    """The second detector as a visitor meets it, `reps` times: ready -> the CNN ready in the first worker
    (its weights fetched after ready, checked, loaded and warmed up; cold: a first visit, warm: a return visit
    once the app is saved for offline use, so from that copy), and a 512 px face JPEG dropped on a page whose
    first worker has both detectors: drop -> verdict, the first file and the next."""
    data = web512()
    cold, warm, first, nxt, detectors = [], [], [], [], set()
    for _ in range(reps):
        ctx = app.context()
        page, _ = app.visit(ctx)
        page.wait_for_selector(NETWORK_READY, state="attached", timeout=TIMEOUT_MS)
        cold.append(page.evaluate("window.__bench.networkReadyAt - window.__bench.readyAt"))
        for i, times in enumerate((first, nxt)):
            drop(page, [(f"web512-{i}.jpg", data)])
            page.wait_for_function("(n) => window.__bench.labelledAt.length >= n", arg=i + 1, timeout=TIMEOUT_MS)
            times.append(page.evaluate("(i) => window.__bench.labelledAt[i] - window.__bench.changeAt[i]", i))
        detectors |= {r.get("detectors") for r in page.evaluate("window.__bench.results")}
        page.wait_for_selector(OFFLINE_READY, state="attached", timeout=TIMEOUT_MS)
        page.close()
        page, _ = app.visit(ctx)
        page.wait_for_selector(NETWORK_READY, state="attached", timeout=TIMEOUT_MS)
        warm.append(page.evaluate("window.__bench.networkReadyAt - window.__bench.readyAt"))
        ctx.close()
    return {"network_ready_after_ready_s": {"cold": median(cold) / 1000, "warm": median(warm) / 1000},
            "web512_first_verdict_s": median(first) / 1000, "web512_next_verdict_s": median(nxt) / 1000,
            "web512_detectors": sorted(map(str, detectors))}


def bench_resampling(reps):
    """ms of runtime.resampling.score on a decoded 1024² camera-like JPEG in CPython (issue 23: ≤ 15 ms)."""
    return {"resampling_cpython_ms": timing.resampling_ms(encode(camera_like(1024, 1024, 9), "JPEG"), reps)}


def machine():
    model = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": model, "cores": os.cpu_count(), "chromium": chromium, "python": platform.python_version(),
            "numpy": np.__version__, "pillow": Image.__version__}


def run(args):
    from playwright.sync_api import sync_playwright

    manifest = json.loads((build.DIST / "build-manifest.json").read_text())
    model = SpectralModel.load(build.DIST / manifest["weights"])
    print("bench: making images…", file=sys.stderr)
    images = {key: encode(camera_like(w, h, seed), fmt) for seed, (key, (w, h, fmt)) in enumerate(SIZES.items())}
    batches = batch_files(args.batch)
    batch = batches["no face"]
    res = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine(), "reps": args.reps,
           "image_reps": args.image_reps,
           "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
           "image_bytes": {k: len(v) for k, v in images.items()}, "batch_size": len(batch)}
    with sync_playwright() as p:
        app = App(p)
        try:
            print("bench: visits (start-up, first and next file)…", file=sys.stderr)
            files = visit_files(batch[-1][1])
            res.update(bench_visits(app, args.reps, files))
            res.update(bench_bytes(app, next(iter(files.values()))[0]))
            res["assets_served_bytes"] = asset_sizes()
            print("bench: images, page and CPython…", file=sys.stderr)
            res["page_ms"], res["cpython_ms"] = bench_images(app, images, model, args.image_reps)
            print("bench: batches, page and CPython…", file=sys.stderr)
            res["batches"] = {}
            for kind, files in batches.items():
                page_s, cli_s, res["page_workers"] = bench_batch(app, files, args.batch_reps)
                res["batches"][kind] = {"page_s": page_s, "cli_s": cli_s, "ratio": page_s / cli_s}
            print("bench: teaching in the page…", file=sys.stderr)
            res.update(bench_teach(app, args.teach_images // 2))
            print("bench: the second detector in the page…", file=sys.stderr)
            res.update(bench_network(app, args.reps))
        finally:
            app.close()
    res["ratio"] = {k: res["page_ms"][k] / res["cpython_ms"][k] for k in images}
    print("bench: face finding, Pyodide (Node) and CPython…", file=sys.stderr)
    res.update(bench_faces(args.image_reps))
    print("bench: CNN features, Pyodide (Node) and CPython…", file=sys.stderr)
    res.update(bench_effnet(args.image_reps))
    res.update(bench_resampling(args.image_reps))
    print("bench: trainer…", file=sys.stderr)
    res.update(bench_trainer(model, args.trainer_images))
    return res


def rows(res, visits_only=False):
    """(label, value, unit, target) for the summary table (visits_only: its visit and bytes rows)."""
    out = [("cold start to ready", res["cold_ready_s"], "s", TARGETS["cold_ready_s"]),
           ("warm start to ready", res["warm_ready_s"], "s", TARGETS["warm_ready_s"])]
    for label, d in res.get("drops", {}).items():  # .get: runs before these were measured compare too
        for kind in ("cold", "warm"):
            for which in ("first", "next"):
                out.append((f"{kind} visit: drop -> verdict, {which} file, {label}", d[f"{kind}_{which}_verdict_s"],
                            "s", TARGETS[f"{which}_verdict_s"]))
    out.append(("bytes before first verdict", res["bytes_before_verdict"] / 1e6, "MB", TARGETS["bytes_before_verdict"] / 1e6))
    if visits_only:
        return out
    for k in SIZES:
        out.append((f"{k} page", res["page_ms"][k], "ms", None))
        out.append((f"{k} CPython", res["cpython_ms"][k], "ms", None))
        out.append((f"{k} page/CPython", res["ratio"][k], "×", TARGETS["per_image_ratio_1024"] if k == "jpeg1024" else None))
    workers = res.get("page_workers", 1)
    for kind, b in res.get("batches", {}).items():
        out += [(f"batch {res['batch_size']}×1024², {kind}: page ({workers} workers)", b["page_s"], "s", None),
                (f"batch {res['batch_size']}×1024², {kind}: CLI (facespectra predict)", b["cli_s"], "s", None),
                (f"batch {kind}: page/CLI", b["ratio"], "×", TARGETS["batch_ratio"])]
    out += [(f"trainer features ({res['trainer_jobs']} procs)", res["trainer_images_per_s"], "img/s", None),
            ("trainer features, warm cache", res["trainer_warm_cache_images_per_s"], "img/s", None)]
    for side in TEACH_SIDES if "teach_images" in res else ():
        out.append((f"teach {res['teach_images']}×{side} px, page", res[f"teach_{side}_s"], "s",
                    TARGETS.get(f"teach_{side}_s")))
        out.append(("  of which the fit", res[f"teach_{side}_fit_s"], "s", None))
    for name in res.get("faces_page_ms", {}):
        out.append((f"faces {name} page (Node)", res["faces_page_ms"][name], "ms", TARGETS["faces_page_ms"]))
        out.append((f"faces {name} CPython", res["faces_cpython_ms"][name], "ms", None))
    for name in res.get("effnet_page_ms", {}):
        out.append((f"CNN features {name} page (Node)", res["effnet_page_ms"][name], "ms", TARGETS["effnet_page_ms"]))
        out.append((f"CNN features {name} CPython", res["effnet_cpython_ms"][name], "ms", TARGETS["effnet_cpython_ms"]))
    out += network_rows(res)
    if "resampling_cpython_ms" in res:
        out.append(("resampling check, 1024² CPython", res["resampling_cpython_ms"], "ms", TARGETS["resampling_cpython_ms"]))
    return out


def network_rows(res):
    """The second detector's rows of the summary table (none for a run before it was measured)."""
    if "network_ready_after_ready_s" not in res:
        return []
    return [(f"CNN ready after ready, {kind} visit", res["network_ready_after_ready_s"][kind], "s", None)
            for kind in ("cold", "warm")] + [
        (f"512 px face JPEG, both detectors: drop -> verdict, {which} file", res[f"web512_{which}_verdict_s"], "s",
         TARGETS["web512_verdict_s"]) for which in ("first", "next")]


def print_stages(res):
    """Where the time goes: start-up marks (ms after navigation) and each dropped file's stages (ms)."""
    for kind in ("cold", "warm"):
        marks = res[f"{kind}_start_stages_ms"]
        print(f"\n{kind} visit, ms after navigation when each stage ended: "
              + ", ".join(f"{k} {v:.0f}" for k, v in marks.items()))
        for label, d in res["drops"].items():
            print(f"  {label}: the first file was dropped {d[f'{kind}_drop_after_ready_ms']:.0f} ms after ready")
            for which in ("first", "next"):
                stages = d[f"{kind}_{which}_stages_ms"]
                print(f"    {which} file, ms per stage: " + ", ".join(f"{k} {v:.0f}" for k, v in stages.items()))


def report(res, old=None):
    m = res["machine"]
    print(f"\nfacespectra benchmark {res['when']} @ {res['git']} — {m['cpu']}, {m['cores']} cores, {m['chromium']}")
    print(f"(medians of {res['reps']} repetitions; {res.get('image_reps', res['reps'])} per image size)\n")
    old_rows = {r[0]: r[1] for r in rows(old)} if old else {}
    head = f"{'measure':56s} {'before':>10s} {'now':>10s}  unit   target" if old else f"{'measure':56s} {'value':>10s}  unit   target"
    print(head)
    for label, value, unit, target in rows(res):
        before = f"{old_rows[label]:10.3f} " if label in old_rows else (f"{'':10s} " if old else "")
        ok = "" if target is None else (f"≤ {target:g} " + ("ok" if value <= target else "MISSED"))
        print(f"{label:56s} {before}{value:10.3f}  {unit:5s}  {ok}")
    print_stages(res)
    print("\nserved sizes (gzip where the server sends it):")
    for name, s in res["assets_served_bytes"].items():
        if s["bytes"] > 20_000:
            print(f"  {name:70s} {s['bytes'] / 1e6:7.2f} MB -> {s['served'] / 1e6:6.2f} MB")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="JSON file for the numbers (default: bench/results/<timestamp>.json)")
    parser.add_argument("--compare", type=Path, help="an earlier JSON to print before/after against")
    parser.add_argument("--reps", type=int, default=5, help="start-up repetitions (default: %(default)s)")
    # a call takes tens of milliseconds, so more of them cost little and steady a median on a noisy host
    parser.add_argument("--image-reps", type=int, default=15, help="calls per image size (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=100, help="images in the batch (default: %(default)s)")
    parser.add_argument("--batch-reps", type=int, default=3, help="batch repetitions (default: %(default)s)")
    parser.add_argument("--trainer-images", type=int, default=48, help="images for the trainer (default: %(default)s)")
    parser.add_argument("--faces-only", action="store_true", help="only the face-finding step (prints its numbers)")
    parser.add_argument("--effnet-only", action="store_true", help="only the CNN steps: its features in Pyodide "
                        "and CPython, and the second detector in the page (prints their numbers)")
    parser.add_argument("--teach-images", type=int, default=40, help="examples to teach on, half of each kind "
                        "(default: %(default)s)")
    parser.add_argument("--teach-only", action="store_true", help="only the teaching step (prints its numbers)")
    parser.add_argument("--visits-only", action="store_true", help="only the visits step (start-up, first and "
                        "next file) and the bytes (prints their numbers)")
    args = parser.parse_args(argv)
    if not (build.DIST / "build-manifest.json").exists():
        print("bench: dist/ is not built: run `make bench` (it builds first)", file=sys.stderr)
        return 1
    if args.faces_only:
        print(json.dumps(bench_faces(args.image_reps), indent=1))
        return 0
    if args.effnet_only:
        from playwright.sync_api import sync_playwright

        res = bench_effnet(args.image_reps)
        with sync_playwright() as p:
            app = App(p)
            try:
                res.update(bench_network(app, args.reps))
            finally:
                app.close()
        print(json.dumps(res, indent=1))
        for row in network_rows(res):
            print(f"{row[0]:55s} {row[1]:8.3f} {row[2]}" + (f"  (target ≤ {row[3]:g})" if row[3] else ""))
        return 0
    if args.visits_only:
        from playwright.sync_api import sync_playwright

        files = visit_files(encode(camera_like(1024, 1024, 199), "JPEG"))
        with sync_playwright() as p:
            app = App(p)
            try:
                res = {**bench_visits(app, args.reps, files), **bench_bytes(app, next(iter(files.values()))[0])}
            finally:
                app.close()
        print(json.dumps({k: v for k, v in res.items() if k not in ("visits", "transferred", "drops")}, indent=1))
        for row in rows(res, visits_only=True):
            print(f"{row[0]:55s} {row[1]:8.3f} {row[2]}" + (f"  (target ≤ {row[3]:g})" if row[3] else ""))
        print_stages(res)
        return 0
    if args.teach_only:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            app = App(p)
            try:
                print(json.dumps(bench_teach(app, args.teach_images // 2), indent=1))
            finally:
                app.close()
        return 0
    old = json.loads(args.compare.read_text()) if args.compare else None
    res = run(args)
    out = args.out or ROOT / "bench" / "results" / f"{res['when'].replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    report(res, old)
    print(f"\nbench: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
