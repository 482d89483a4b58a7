// Detectors, one per core: a batch runs on all of them at once.
// All workers are created with the page, but only the first loads at once and decides when the page is
// ready; the others load after it has warmed up (worker.js), when the page asks (loadRest), so they take every
// file from the HTTP cache (nothing is downloaded twice), never slow the first verdicts, and fetch nothing
// from this origin after it is ready.
import { Detector } from "./detector.js";

const MAX_WORKERS = 4;

// One per core, at most MAX_WORKERS; just one where memory is scarce: each worker holds its own Python.
export function poolSize(nav = navigator) {
  if (nav.deviceMemory !== undefined && nav.deviceMemory < 4) return 1;
  return Math.max(1, Math.min(nav.hardwareConcurrency || 1, MAX_WORKERS));
}

export class Pool {
  constructor(size, { onStatus, onInfo, onNet, onWorkers, onNetwork }) {
    Object.assign(this, { size, onStatus, onInfo, onNet, onWorkers, onNetwork });
    this.detectors = [];
    this.netCounts = [];
    this.paused = false;
    for (let i = 0; i < size; i++) this.spawn(i > 0);
  }

  spawn(deferred) {
    const i = this.detectors.length;
    this.netCounts.push(0);
    this.detectors.push(new Detector({
      deferred,
      onStatus: (msg) => this.status(i, msg),
      onInfo: (msg) => { if (i === 0) this.onInfo(msg); },
      onNetwork: (msg) => this.network(msg),
      onNet: (count) => {
        this.netCounts[i] = count;
        this.onNet(this.netCounts.reduce((a, b) => a + b, 0));
      },
    }));
  }

  // Ready while any worker is: one restarting after a crash leaves the others working.
  get state() {
    if (this.detectors.some((d) => d.state === "ready")) return "ready";
    return this.failed ? "error" : this.detectors[0].state;
  }

  // For good: no worker can load (those waiting for the first to be ready never will).
  get failed() {
    return this.detectors.every((d) => d.state === "error" || (d.state === "waiting" && this.detectors[0].state === "error"));
  }

  get readyCount() {
    return this.detectors.filter((d) => d.state === "ready").length;
  }

  get restarts() {
    return this.detectors.reduce((n, d) => n + d.restarts, 0);
  }

  // The other workers load when the page says (app.js), once the first has warmed up: each takes a core for
  // a second or two, so not while the first checks its warm-up image or a file a visitor waits for alone.
  loadRest() {
    if (!this.warm) return;
    for (const d of this.detectors) if (d.state === "waiting") d.load();
  }

  // While the pool is ready only "ready" news matters (a worker joined); otherwise the first worker speaks.
  status(i, msg) {
    if (i === 0 && msg.state === "ready" && msg.warm) this.warm = true;
    if (this.state === "ready" ? msg.state === "ready" : i === 0 || this.failed) this.onStatus(msg);
    this.onWorkers(this.readyCount, this.size);
  }

  // The second detector, which each worker loads once it is ready (worker.js): "ready" once any worker has it
  // (each row says which detectors judged it), else "loading" while one loads it, else "error" with the last
  // reason; `ready` counts the workers that have it.
  network(msg) {
    if (msg.state === "error") this.networkError = msg.message;
    const states = this.detectors.map((d) => d.network);
    const state = states.includes("ready") ? "ready" : states.includes("loading") ? "loading" : "error";
    this.onNetwork({ state, message: this.networkError, ready: states.filter((s) => s === "ready").length,
                     size: this.size });
  }

  // A ready worker with nothing to do and not in `taken`, or null (always null while a model swap runs:
  // teach.js sets `paused`, so no file is judged by a worker in the middle of switching).
  idle(taken) {
    if (this.paused) return null;
    return this.detectors.find((d) => d.state === "ready" && d.pending.size === 0 && !taken.has(d)) || null;
  }
}
