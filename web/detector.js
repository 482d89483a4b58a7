// The worker's lifecycle on the main thread: start, request/response with a timeout, restart after a crash.
// A worker that throws, closes itself (fatal error) or stays silent past the timeout is replaced;
// the request it was serving fails with CRASHED so that file gets an error row and the batch goes on.

export const CRASHED = "the detector crashed on this file; it was restarted";
export const STOPPED = "the detector crashed on this file and was not restarted";
// A worker restarted this often that crashes again, or one that crashes before it was ever ready (a
// broken or missing file: it would crash again), stays down and the page says so, instead of looping.
export const MAX_RESTARTS = 3;
// Generous: a 40-megapixel TIFF takes a few seconds on a slow phone; a hang takes forever.
export const JOB_TIMEOUT_MS = 90_000;

// The worker runs from a blob: URL whose one line imports worker.js. A worker made from its own URL
// takes its Content-Security-Policy from that response's headers, which a static host such as GitHub
// Pages does not send, so it would run with no policy at all; a worker made from a blob: URL inherits
// the policy of the document that created it (CSP 3: workers of local schemes inherit their creator's
// policy container), meta tag included. So on any host the worker, where untrusted image bytes are
// parsed, is bound by connect-src 'self' as the page is (tests/test_reliability.py measures it in
// Chromium: a fetch to another origin from the worker never arrives). worker.js keeps its real URL
// as import.meta.url, so its relative URLs are unchanged. The page's policy allows blob: for workers.
const WORKER_URL = URL.createObjectURL(new Blob(
  [`import ${JSON.stringify(new URL("./worker.js", import.meta.url).href)};\n`], { type: "text/javascript" }));

export class Detector {
  // deferred: the worker (and its script) is created now, but loads Pyodide only when load() is called.
  constructor({ onStatus, onInfo, onNet, onNetwork, deferred = false }) {
    Object.assign(this, { onStatus, onInfo, onNet, onNetwork });
    this.weights = null; // the model to load (a weights file's text; null: the shipped one), also after a crash
    this.pending = new Map(); // id -> {resolve, reject, timer}
    this.nextId = 1;
    this.restarts = 0;
    this.everReady = false;
    this.start(deferred);
  }

  start(deferred = false) {
    this.state = deferred ? "waiting" : "loading";
    this.network = null; // the second detector in this worker: null (not asked yet), "loading", "ready", "error"
    this.worker = new Worker(WORKER_URL, { type: "module" });
    this.worker.onmessage = (event) => this.receive(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.crash(`uncaught error in the detector: ${event.message || "unknown"}`);
    };
    if (!deferred) this.load();
  }

  load() {
    this.state = "loading";
    this.worker.postMessage({ type: "load", weights: this.weights });
  }

  receive(msg) {
    if (msg.type === "status") {
      this.state = msg.state;
      this.everReady ||= msg.state === "ready";
      this.onStatus(msg);
    } else if (msg.type === "info") {
      this.onInfo(msg);
    } else if (msg.type === "network") {
      this.network = msg.state;
      this.onNetwork(msg);
    } else if (msg.type === "net") {
      this.onNet(msg.count);
    } else if (msg.type === "fatal") {
      this.crash(msg.message);
    } else {
      const job = this.pending.get(msg.id);
      if (!job) return;
      clearTimeout(job.timer);
      this.pending.delete(msg.id);
      job.resolve(msg);
    }
  }

  // Every request in flight fails; the replacement worker (if any) loads while the queue waits for "ready".
  crash(reason) {
    this.worker.terminate();
    const restart = this.everReady && this.restarts < MAX_RESTARTS;
    if (restart) this.restarts += 1;
    const jobs = [...this.pending.values()];
    this.pending.clear();
    for (const job of jobs) {
      clearTimeout(job.timer);
      job.reject(Object.assign(new Error(restart ? CRASHED : STOPPED), { reason }));
    }
    if (!restart) {
      this.state = "error";
      this.onStatus({ type: "status", state: "error", message: this.everReady
        ? `the detector crashed ${this.restarts + 1} times (${reason}) and was not restarted again`
        : `the detector stopped while starting (${reason})` });
      return;
    }
    this.start();
  }

  // The bytes (if any) are transferred: the caller reads the File again if it needs them later.
  request(type, bytes, extra = {}, timeoutMs = JOB_TIMEOUT_MS) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.crash("no answer within the time limit"), timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ type, id, bytes, ...extra }, bytes ? [bytes] : []);
    });
  }
}
