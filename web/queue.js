// The batch: files wait here and go to the pool's idle workers, one file per worker, so a big batch
// never holds more than a few files' bytes in flight and can be cancelled between files.
import { CRASHED } from "./detector.js";

export class Queue {
  constructor(pool, { onDone, onProgress }) {
    Object.assign(this, { pool, onDone, onProgress });
    this.waiting = [];
    this.working = new Set(); // detectors checking a file
    this.batchTotal = 0;
    this.batchDone = 0;
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
    for (let d = this.pool.idle(this.working); d && this.waiting.length; d = this.pool.idle(this.working)) {
      this.run(d, this.waiting.shift());
    }
    for (const entry of this.waiting.slice(0, this.pool.size)) this.read(entry);
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
      const error = err.message === CRASHED ? CRASHED : `cannot read the file: ${err.message || err}`;
      result = { label: "error", p_fake: null, features: null, flags: [], error };
    }
    this.working.delete(detector);
    this.batchDone += 1;
    this.pump(); // the worker's next file goes out before this row is drawn
    this.onDone(entry, result);
    this.progress();
  }
}
