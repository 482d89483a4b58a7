// The batch: files wait here and go to the detector one at a time, so a big batch never
// holds more than one file's bytes in flight and can be cancelled between files.
import { CRASHED } from "./detector.js";

export class Queue {
  constructor(detector, { onDone, onProgress }) {
    Object.assign(this, { detector, onDone, onProgress });
    this.waiting = [];
    this.inFlight = null;
    this.batchTotal = 0;
    this.batchDone = 0;
  }

  add(entries) {
    if (!this.inFlight && this.waiting.length === 0) this.batchTotal = this.batchDone = 0;
    this.waiting.push(...entries);
    this.batchTotal += entries.length;
    this.progress();
    this.pump();
  }

  // The file being checked finishes; the rest are handed back for the table to drop.
  cancel() {
    const dropped = this.waiting.splice(0);
    this.batchTotal -= dropped.length;
    this.progress();
    return dropped;
  }

  get busy() {
    return Boolean(this.inFlight) || this.waiting.length > 0;
  }

  progress() {
    this.onProgress({ done: this.batchDone, total: this.batchTotal, busy: this.busy });
  }

  async pump() {
    if (this.inFlight || this.detector.state !== "ready" || this.waiting.length === 0) return;
    const entry = (this.inFlight = this.waiting.shift());
    let result;
    try {
      const bytes = await entry.file.arrayBuffer();
      result = await this.detector.request("classify", bytes);
    } catch (err) {
      const error = err.message === CRASHED ? CRASHED : `cannot read the file: ${err.message || err}`;
      result = { label: "error", p_fake: null, features: null, flags: [], error };
    }
    this.inFlight = null;
    this.batchDone += 1;
    this.onDone(entry, result);
    this.progress();
    this.pump();
  }
}
