// The batch: files wait here and go to the pool's idle workers, one file per worker, so a big batch
// never holds more than a few files' bytes in flight and can be cancelled between files.
// Explanations ("Why?") share the same workers: the one asked for last goes to the next free worker,
// ahead of the waiting files, and every finished job hands its worker on. So neither starves the
// other, on any pool size: with one worker, an explanation waits for at most one file.

const errorRow = (error) => ({ label: "error", p_fake: null, features: null, flags: [], error });
const mib = (bytes) => `${(bytes / (1024 * 1024)).toFixed(0)} MiB`; // as decode.py words it

export const SUPERSEDED = "a later explanation was asked for";

export class Queue {
  constructor(pool, { onDone, onProgress }) {
    Object.assign(this, { pool, onDone, onProgress });
    this.waiting = [];
    this.working = new Set(); // detectors checking a file
    this.explaining = new Set(); // the detector explaining one (not part of the batch's progress)
    this.explanation = null; // {entry, resolve, reject}: asked for, not yet on a worker
    this.batchTotal = 0;
    this.batchDone = 0;
    this.failure = null; // why no file can be checked any more (the detector cannot load)
    this.maxBytes = null; // the detector's byte limit (worker_api.info), known once it is ready
  }

  // A file over the byte limit is refused from its size, never read (a 1.5 GB file took 12 s to read).
  refusal(entry) {
    return this.maxBytes !== null && entry.file.size > this.maxBytes
      ? `file is ${mib(entry.file.size)}; the limit is ${mib(this.maxBytes)}` : null;
  }

  // The detector cannot load: files waiting, and any added later, get an error row at once instead of
  // waiting for ever, so the batch ends and Clear and Export work.
  fail(message) {
    this.failure = message;
    this.pump();
  }

  // The explanation of a checked entry; an earlier one still waiting for a worker is dropped (SUPERSEDED).
  explain(entry) {
    if (this.explanation) this.explanation.reject(new Error(SUPERSEDED));
    const asked = new Promise((resolve, reject) => { this.explanation = { entry, resolve, reject }; });
    this.pump();
    return asked;
  }

  async runExplanation(detector, job) {
    this.explaining.add(detector);
    try {
      const bytes = await job.entry.file.arrayBuffer();
      job.resolve(await detector.request("explain", bytes, { features: job.entry.result.features }));
    } catch (err) {
      job.reject(err);
    } finally {
      this.explaining.delete(detector);
      this.pump();
    }
  }

  add(entries) {
    if (!this.busy) this.batchTotal = this.batchDone = 0;
    this.waiting.push(...entries);
    this.batchTotal += entries.length;
    this.progress();
    this.pump();
  }

  // The files being checked finish; the rest are handed back for the table to drop.
  cancel() {
    const dropped = this.waiting.splice(0);
    this.batchTotal -= dropped.length;
    this.progress();
    return dropped;
  }

  get busy() {
    return this.working.size > 0 || this.waiting.length > 0;
  }

  progress() {
    this.onProgress({ done: this.batchDone, total: this.batchTotal, busy: this.busy });
  }

  // Every idle worker gets the next file; the files after those are read from disk meanwhile, so a worker
  // that finishes never waits for a read.
  pump() {
    if (this.failure) {
      this.explanation?.reject(new Error(this.failure));
      this.explanation = null;
      for (const entry of this.waiting.splice(0)) this.settle(entry, errorRow(this.failure));
      return;
    }
    const free = () => this.pool.idle(new Set([...this.working, ...this.explaining]));
    for (let d = free(); d && (this.explanation || this.waiting.length); d = free()) {
      if (this.explanation) {
        const job = this.explanation;
        this.explanation = null;
        this.runExplanation(d, job);
      } else {
        const entry = this.waiting.shift();
        const refusal = this.refusal(entry);
        if (refusal) this.settle(entry, errorRow(refusal));
        else this.run(d, entry);
      }
    }
    if (this.maxBytes === null) return; // nothing is read before the limit is known
    for (const entry of this.waiting.slice(0, this.pool.size)) if (!this.refusal(entry)) this.read(entry);
  }

  read(entry) {
    if (!entry.bytes) {
      entry.bytes = entry.file.arrayBuffer();
      entry.bytes.catch(() => {}); // a failed read is reported by run(), not as an unhandled rejection
    }
    return entry.bytes;
  }

  async run(detector, entry) {
    this.working.add(detector);
    let result;
    try {
      // once read, the worker takes the bytes: a big batch must not keep every file in memory
      const bytes = await this.read(entry).finally(() => { delete entry.bytes; });
      result = await detector.request("classify", bytes);
    } catch (err) {
      // the detector's failures carry a reason; anything else was the file's reading
      result = errorRow(err.reason !== undefined ? err.message : `cannot read the file: ${err.message || err}`);
    }
    this.working.delete(detector);
    this.pump(); // the worker's next file goes out before this row is drawn
    this.settle(entry, result);
  }

  settle(entry, result) {
    this.batchDone += 1;
    this.onDone(entry, result);
    this.progress();
  }
}
