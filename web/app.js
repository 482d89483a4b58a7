// Main thread: wires the inputs, the queue, the table, the explanation and the offline cache together.
// All Python runs in worker.js (see pool.js and detector.js); this thread only moves files and draws.
import { download, toCSV } from "./csv.js";
import { renderExplanation } from "./explain.js";
import { wireInputs } from "./input.js";
import { Pool, poolSize } from "./pool.js";
import { Queue } from "./queue.js";
import { ResultsTable } from "./table.js";
import { wireTeach } from "./teach.js";

const $ = (sel) => document.querySelector(sel);
const statusEl = $("#status");
const progressEl = $("#load-progress");
const explainSection = $("#explain");
let info = null;

const table = new ResultsTable({ tbody: $("#results"), summary: $("#summary"), onExplain: explain });

// The status is a live region: it speaks when the state changes, never per download chunk (the bytes
// go to a plain line beside the progress bar), and text that did not change is not set again.
const say = (el, text) => { if (el.textContent !== text) el.textContent = text; };

// A download that stops moving (a stalled connection) is said in words, not left at a percentage.
const STALL_MS = 20_000;
let stallTimer = 0;
function watchStall(state) {
  clearTimeout(stallTimer);
  delete statusEl.dataset.stalled;
  if (state !== "loading") return;
  stallTimer = setTimeout(() => {
    statusEl.dataset.stalled = "true";
    say(statusEl, `The detector has not moved for ${STALL_MS / 1000} seconds: the connection may have stalled. `
      + "Check it, then reload the page.");
  }, STALL_MS);
}
watchStall("loading"); // from the page's start

function onStatus(msg) {
  watchStall(msg.state);
  statusEl.dataset.state = msg.state;
  if (msg.state === "loading" && msg.total) {
    const pct = Math.min(100, Math.round((100 * msg.loaded) / msg.total));
    progressEl.value = pct;
    progressEl.setAttribute("aria-valuetext", `${pct}%`);
    say(statusEl, "Downloading the detector…");
    say($("#load-detail"), `${(msg.loaded / 1e6).toFixed(1)} of ${(msg.total / 1e6).toFixed(1)} MB (${pct}%)`);
  } else if (msg.state === "error") {
    say(statusEl, `The detector could not load: ${msg.message}. ${navigator.onLine
      ? "Reload the page to try again; if it fails again, the site may be being updated: try again in a few minutes."
      : "This device is offline and has no saved copy of the detector: connect to the internet and reload the page."}`);
  } else {
    say(statusEl, pool.restarts && msg.state === "ready" ? "Ready again after a restart." : msg.message);
  }
  if (msg.state !== "loading") say($("#load-detail"), "");
  if (msg.state === "error" && pool.failed) queue.fail(`not checked: the detector could not load (${msg.message})`);
  if (msg.state === "ready") {
    watchNetwork();
    if (msg.warm) {
      warmed = true;
      if (queue.waiting.length) pool.loadRest();
      whenIdle();
    }
    queue.pump();
  }
}

function onInfo(msg) {
  info = msg;
  queue.maxBytes = msg.max_bytes;
  table.zones = msg.zones; // each regime's likely real / can't tell / likely generated, for the bars
  table.zonesBoth = msg.zones_both; // the same under the rule over both detectors (null: no second detector)
  table.flagMessages = msg.flag_messages;
  showNetwork();
}

// The second detector loads after ready (worker.js). Its own live region is busy while it loads (screen
// readers wait for the outcome), then says once that it is ready or could not load, never per worker or per
// byte; the counts are in data attributes. A model without a second detector (taught, or older weights) says so.
const networkEl = $("#network-status");
let network = { state: null };
function onNetwork(msg) {
  network = msg;
  Object.assign(networkEl.dataset, { state: msg.state, workers: `${msg.ready}/${msg.size}`,
                                     allReady: String(msg.ready === msg.size) });
  networkEl.setAttribute("aria-busy", String(msg.state === "loading"));
  showNetwork();
}
function showNetwork() {
  const alone = "images are judged by their spectral traces alone";
  const name = "Second detector (face appearance)";
  const text = info?.zones_both === null ? `The model in use has no second detector: ${alone}.` : {
    loading: `${name}: loading… Until it is ready, ${alone}.`,
    ready: `${name}: ready. Images are judged by their spectral traces and by the face's appearance.`,
    error: `${name}: could not load (${network.message}). Until the page is reloaded, ${alone}.`,
  }[network.state];
  if (text) say(networkEl, text);
}

// Privacy you can check: every request this page and its worker make after the detector is ready.
let pageRequests = 0, workerRequests = 0, watching = false;
const showNet = () => {
  const el = $("#net-count");
  el.textContent = String(pageRequests + workerRequests);
  el.dataset.count = String(pageRequests + workerRequests);
};
function watchNetwork() {
  if (watching) return;
  watching = true;
  showNet();
  new PerformanceObserver((list) => {
    pageRequests += list.getEntries().filter((e) => !/^(blob|data):/.test(e.name)).length;
    showNet();
  }).observe({ type: "resource" });
}

const pool = new Pool(poolSize(), {
  onStatus, onInfo, onNetwork,
  onNet: (n) => { workerRequests = n; showNet(); },
  onWorkers: (ready, size) => {
    statusEl.dataset.workers = `${ready}/${size}`;
    statusEl.dataset.allReady = String(ready === size);
  },
});

const batchEl = $("#batch");
let cancelled = 0; // files dropped by "Cancel the rest" in this batch
const batchProgress = $("#batch-progress");
const queue = new Queue(pool, {
  onDone: (entry, result) => table.finish(entry, result),
  onProgress: ({ done, total, busy }) => {
    // the summary changes with every file, so it is not a live region: the end of a batch is announced
    if (!busy && !batchEl.hidden) {
      say($("#announce"), `${cancelled ? `Cancelled: ${cancelled} files were not checked.` : "Done."} ${$("#summary").textContent}`);
      cancelled = 0;
    }
    batchEl.hidden = !busy;
    batchProgress.max = Math.max(total, 1);
    batchProgress.value = done;
    $("#batch-text").textContent = `Checking ${Math.min(done + 1, total)} of ${total}…`;
    $("#clear").disabled = busy;
    $("#export").disabled = busy || table.results().length === 0 || !info; // the CSV's rules come with info
    if (busy && queue.waiting.length) pool.loadRest(); // files wait for a worker: more of them help now
    if (!busy) whenIdle();
  },
});

wireTeach({ pool, onInfo, isBusy: () => queue.busy, onWorkerFree: () => queue.pump() });

wireInputs({
  input: $("#file-input"),
  dropZone: $("#drop"),
  onFiles: (files) => { if (files.length) queue.add(files.map((f) => table.add(f))); },
});

$("#cancel").addEventListener("click", () => {
  const dropped = queue.cancel();
  dropped.forEach((entry) => table.remove(entry));
  if (queue.busy) cancelled = dropped.length; // announced when the files in flight are done
  else say($("#announce"), `Cancelled: ${dropped.length} files were not checked.`);
});
$("#clear").addEventListener("click", () => {
  explainToken += 1; // an explanation still on its way belongs to a cleared row
  table.clear();
  explainSection.hidden = true;
  $("#export").disabled = true;
});
$("#export").addEventListener("click", () => download(toCSV(table.results(), info.csv), "facespectra-results.csv"));
$("#filter").addEventListener("change", (event) => table.setFilter(event.target.value));
$("#sort").addEventListener("change", (event) => table.setSort(event.target.value));

// Each click takes a token: only the explanation asked for last may fill the panel, however the
// workers' answers are ordered (a large image clicked first can finish after a small one clicked next).
let explainToken = 0;
async function explain(entry) {
  const token = ++explainToken;
  const body = $("#explain-body");
  explainSection.hidden = false;
  explainSection.dataset.state = "loading";
  body.textContent = `Working out the explanation for ${entry.name}…`;
  explainSection.scrollIntoView({ block: "start" });
  $("#explain-h").focus();
  try {
    const explanation = await queue.explain(entry);
    if (token !== explainToken) return;
    if (explanation.error) throw new Error(explanation.error);
    const verdictText = entry.row.querySelector(".verdict-text").textContent;
    renderExplanation(body, { info, entry, explanation, verdictText });
    explainSection.dataset.name = entry.name;
    explainSection.dataset.state = "ready";
  } catch (err) {
    if (token !== explainToken) return;
    body.textContent = `No explanation: ${err.message || err}`;
    explainSection.dataset.state = "error";
  }
}

// Work for later, the other workers and the offline copy, starts once the first worker has warmed up and
// no file has been checked for IDLE_MS (the other workers also at once when files wait for a worker):
// loading a worker takes a core for a second or two, and saving the app reads every file again and
// downloads the start-up snapshot for return visits, which would slow the verdicts a visitor awaits.
const IDLE_MS = 1000;
let warmed = false;
let idleTimer = 0;
function whenIdle() {
  clearTimeout(idleTimer);
  if (!warmed || queue.busy) return;
  idleTimer = setTimeout(() => {
    if (queue.busy) return;
    pool.loadRest();
    registerOffline();
  }, IDLE_MS);
}

// Offline: the service worker keeps the app and the detector; registered once the detector is in the
// HTTP cache so its precache costs no second download.
let registering = false;

function registerOffline() {
  const el = $("#offline");
  if (registering || !("serviceWorker" in navigator)) return;
  registering = true;
  el.textContent = "Saving the app for offline use…";
  navigator.serviceWorker.register(new URL("./sw.js", import.meta.url), { scope: "./" })
    .then((registration) => navigator.serviceWorker.ready.then(() => registration))
    .then((registration) => {
      el.dataset.state = "ready";
      el.textContent = "Works offline: the app and the detector are saved on this device.";
      watchUpdates(registration, el);
    })
    .catch((err) => {
      el.dataset.state = "error";
      el.textContent = `Offline use is not available here (${err.message || err}).`;
    });
}

// A new build, found by the browser on an online visit, is saved whole beside this one (sw.js) and
// starts once no page runs this one; until then this page keeps its own complete build.
function watchUpdates(registration, el) {
  const saved = () => {
    if (!registration.waiting || !navigator.serviceWorker.controller) return;
    el.dataset.update = "saved";
    el.textContent = "Works offline. A new version is saved on this device: it starts the next time "
      + "you open the page with no other tab of it open.";
  };
  const follow = (worker) => worker?.addEventListener("statechange", saved);
  saved();
  follow(registration.installing); // an update found before this page was ready
  registration.addEventListener("updatefound", () => follow(registration.installing));
}
