// The detector: Pyodide + the facespectra runtime modules, off the main thread so the page never freezes.
// Protocol — in: {type: "load", weights} first (weights: a weights file's text, or null for the shipped
// model), then {type: "classify" | "explain" | "features", id, bytes[, features]}, {type: "fit", id, payload}
// (the Teach panel's examples as JSON), and a model swap in two phases: {type: "prepare", id, weights} (null: the
// shipped one), then {type: "commit", id} or {type: "abort", id} (pool-wide: see teach.js).
// Out: {type: "status", state, message, loaded, total}, {type: "info", ...} once ready,
// {type: "result", id, label, p_fake, features, flags, error, ms, received, sent} (for the benchmark: ms in Python; epoch ms), {type: "explanation", id, ...},
// {type: "features" | "fit" | "prepare" | "commit" | "abort", id, ...} (worker_api's features_json, fit_json,
// prepare_model_json: the new model's info; or {error}),
// {type: "network", state: "loading" | "ready" | "error"[, message]} (the second detector, after ready: see
// loadNetwork), {type: "net", count} (requests made after ready, but for the network's own file) and
// {type: "fatal", id, message} before closing itself.
const base = new URL("./", import.meta.url);
const post = (msg) => self.postMessage(msg);

// The browser's own fetch, before countDownloads wraps it: the second detector's file, fetched after ready,
// is no part of the start's progress bar.
const plainFetch = self.fetch.bind(self);

// Count the bytes of every response Pyodide fetches, for a truthful progress bar.
function countDownloads(total) {
  let loaded = 0;
  // A clone is read for counting, so Pyodide gets the original response: a synthesized one would
  // lose its URL, and with it Chromium's compiled-code cache for pyodide.asm.wasm.
  self.fetch = async (input, init) => {
    const response = await plainFetch(input, init);
    if (!response.body) return response;
    const reader = response.clone().body.getReader();
    (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        loaded += r.value.byteLength;
        post({ type: "status", state: "loading", message: "Downloading the detector…", loaded, total });
      }
    })().catch(() => {});
    return response;
  };
}

// This build's files, as in build-manifest.json (names and byte total): build.py writes them in here,
// so the worker starts Pyodide without first fetching the manifest.
const BUILD = /*{{BUILD}}*/ null;

let pyodide = null;

// When each start-up stage ended (ms since the epoch, comparable with the page's clock): sent with "info",
// read by bench/run.py.
const marks = {};
const mark = (stage) => { marks[stage] = performance.timeOrigin + performance.now(); };
mark("script");

async function start(chosenWeights) {
  mark("load");
  countDownloads(BUILD.loadBytes);
  const indexURL = new URL(BUILD.pyodideDir, base).href;
  // requested at once, not after Pyodide: they download while the interpreter starts
  const files = Promise.all([
    download(BUILD.runtime).then((r) => r.arrayBuffer()),
    download(BUILD.weights).then((r) => r.text()),
  ]);
  files.catch(() => {}); // a failure is reported where it is awaited
  // Cache Storage exists only in secure contexts (https, localhost)
  const saved = self.caches?.match(new URL(BUILD.snapshot, base).href).catch(() => undefined);
  const { loadPyodide } = await import(indexURL + "pyodide.mjs");
  mark("pyodideScript");
  pyodide = await startPython(loadPyodide, { indexURL }, await saved);
  mark("pyodide");
  const [runtime, weights] = await files;
  pyodide.unpackArchive(runtime, "zip", { extractDir: "/home/pyodide/runtime" });
  pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide/runtime')");
  const glue = pyodide.pyimport("facespectra.runtime.worker_api");
  mark("imports");
  try {
    glue.load_model(chosenWeights ?? weights);
  } catch (err) {
    throw new Error(`The model file cannot be used. ${lastLine(err)}`);
  }
  mark("model");
  return {
    info: JSON.parse(glue.info_json()),
    classify: glue.check_json,
    explain: glue.explain_json,
    warmUp: glue.warm_up,
    loadNetwork: glue.load_network,
    warmUpNetwork: glue.warm_up_network,
    features: glue.features_json,
    fit: glue.fit_json,
    prepare: (text) => glue.prepare_model_json(text ?? weights), // kept in memory: going back fetches nothing
    commit: glue.commit_model,
    abort: glue.abort_model,
  };
}

// A file of this build, or an error that names it (a host missing a file answers 404 with an HTML page).
async function download(name, get = fetch) {
  const response = await get(new URL(name, base));
  if (!response.ok) throw new Error(`${name} could not be downloaded (HTTP ${response.status})`);
  return response;
}

// A return visit starts Python from the memory image saved at build time (scripts/snapshot.mjs), which
// skips the interpreter's own start-up. It is read only from the offline copy (the service worker saves it
// with the app), so a first visit downloads nothing more before its first verdict; its bytes are read and
// their sha256 checked against this build's while Pyodide's script loads. Should anything fail with it,
// Python starts as on a first visit.
async function startPython(loadPyodide, options, saved) {
  marks.fromSnapshot = false;
  if (saved) {
    try {
      const py = await withPackages(await loadPyodide({ ...options, _loadSnapshot: checked(saved) }));
      py.runPython("import random; random.seed()"); // the snapshot's seed would be every visitor's
      marks.fromSnapshot = true;
      return py;
    } catch (err) {
      console.warn(`facespectra: starting without the saved snapshot (${err.message || err})`);
    }
  }
  return withPackages(await loadPyodide(options));
}

// numpy and Pillow loaded into a started interpreter (marked apart: the bench reports both stages).
async function withPackages(py) {
  mark("interpreter");
  await py.loadPackage(BUILD.packages, { messageCallback: () => {} });
  return py;
}

// The snapshot file is gzipped (by build.py, so that any host sends 3.5 MB, not 21): checked, then inflated.
async function checked(response) {
  const gzipped = new Uint8Array(await response.arrayBuffer());
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", gzipped));
  if (Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("") !== BUILD.snapshotSha256) {
    throw new Error("the saved snapshot is not this build's");
  }
  const inflated = new Blob([gzipped]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

function lastLine(err) {
  const lines = String(err.message || err).trim().split("\n");
  return lines[lines.length - 1];
}

// After ready the detector should fetch nothing but its second detector's file (loadNetwork); count anything
// else anyway so the page can show it.
function watchNetwork() {
  let count = 0;
  const network = new URL(BUILD.network, base).href;
  new PerformanceObserver((list) => {
    count += list.getEntries().filter((e) => !/^(blob|data):/.test(e.name) && e.name !== network).length;
    post({ type: "net", count });
  }).observe({ type: "resource" });
}

// The page says when to load: at once for its first worker, after that one is ready for the others.
let load;
let filesArrived = 0; // files to check received so far: the first one ends the warm-up
const loadAsked = new Promise((resolve) => { load = resolve; });

const ready = loadAsked.then(start).then(
  (api) => {
    post({ type: "info", ...api.info, marks });
    post({ type: "status", state: "ready", message: READY });
    watchNetwork();
    setTimeout(() => warmUp(api), 0); // after any file that is already waiting
    return api;
  },
  (err) => {
    post({ type: "status", state: "error", message: String(err.message || err) });
    return null;
  },
);

const READY = "Ready. Add images to check them.";

// Warm-up right after ready (worker_api.warm_up, in steps), so a visitor's first file costs what the next
// ones do; then "ready" again with warm: true, when the page may start other work (more workers). A file
// that arrives meanwhile waits for the step under way only, and ends the warm-up: it warms up what it needs.
async function warmUp(api) {
  for (let step = 0, more = true; more && !filesArrived; step++) {
    try {
      more = api.warmUp(step);
    } catch (err) {
      if (failed(null, err) === null) return; // the interpreter is unusable: the page restarts this worker
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 0)); // a file posted meanwhile is taken first
  }
  mark("warm");
  post({ type: "status", state: "ready", warm: true, message: READY, marks });
  loadNetwork(api);
}

// The second detector (the CNN, runtime/effnet.py): its weights (2.9 MB) are fetched only now, once this worker
// is ready and warm, so ready time is what it was; files checked meanwhile are judged by the spectral model
// alone (their rows say so). The bytes are checked against this build's sha256, written into Python's file
// system and loaded (worker_api.load_network), then the network is warmed up: two steps of about 0.2 s, and
// a file that arrives meanwhile waits for the step under way only, never for the download.
async function loadNetwork(api) {
  const say = (state, message) => post({ type: "network", state, message });
  say("loading");
  let bytes;
  try {
    bytes = new Uint8Array(await (await download(BUILD.network, plainFetch)).arrayBuffer());
  } catch (err) {
    say("error", String(err.message || err));
    return;
  }
  for (const step of [() => api.loadNetwork(bytes, BUILD.networkSha256), () => api.warmUpNetwork()]) {
    await new Promise((resolve) => setTimeout(resolve, 0)); // a file posted meanwhile is taken first
    try {
      const refused = step();
      if (refused) {
        say("error", refused);
        return;
      }
    } catch (err) {
      const error = failed(null, err); // null: the interpreter is unusable, and the page restarts this worker
      if (error !== null) say("error", error);
      return;
    }
  }
  say("ready");
}

// A Python exception is the file's problem; anything else (wasm out of memory, a fatal Pyodide error)
// leaves the interpreter unusable, so say so and stop: the page starts a fresh worker.
function failed(id, err) {
  if (pyodide && err instanceof pyodide.ffi.PythonError) return `internal error: ${lastLine(err)}`;
  post({ type: "fatal", id, message: lastLine(err) });
  self.close();
  return null;
}

self.onmessage = async (event) => {
  const received = performance.timeOrigin + performance.now();
  const msg = event.data;
  if (msg.type === "classify") filesArrived++;
  if (msg.type === "load") {
    load(msg.weights);
    return;
  }
  const api = await ready;
  if (!api) {
    post({ type: { explain: "explanation", classify: "result" }[msg.type] || msg.type, id: msg.id, label: "error",
           flags: [], error: "the detector did not load" });
    return;
  }
  const bytes = new Uint8Array(msg.bytes);
  try {
    if (msg.type === "classify") {
      const t0 = performance.now();
      const row = api.classify(bytes);
      const ms = performance.now() - t0;
      // received, sent: when the file reached this worker and when its row left (epoch ms), for the bench
      post({ type: "result", id: msg.id, ...JSON.parse(row), ms, received, sent: performance.timeOrigin + performance.now() });
    } else if (msg.type === "explain") {
      post({ type: "explanation", id: msg.id, ...JSON.parse(api.explain(bytes, JSON.stringify(msg.features))) });
    } else if (msg.type === "features") {
      post({ type: "features", id: msg.id, ...JSON.parse(api.features(bytes)) });
    } else if (msg.type === "fit") {
      post({ type: "fit", id: msg.id, ...JSON.parse(api.fit(msg.payload)) });
    } else if (msg.type === "prepare") {
      post({ type: "prepare", id: msg.id, ...JSON.parse(api.prepare(msg.weights)) });
    } else if (msg.type === "commit" || msg.type === "abort") {
      api[msg.type]();
      post({ type: msg.type, id: msg.id });
    }
  } catch (err) {
    const error = failed(msg.id, err);
    if (error === null) return;
    post(msg.type === "classify" ? { type: "result", id: msg.id, label: "error", p_fake: null, features: null, flags: [], error }
                                 : { type: msg.type === "explain" ? "explanation" : msg.type, id: msg.id, error });
  }
};
