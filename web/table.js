// The results table: one row per file, with thumbnail, verdict (with its reason and, for "can't tell", what the
// person can do), probability bar with its regime's zones, and flags; sort, filter, summary.
// File names and messages are always set as text (textContent), never parsed as HTML.
import { showFaces } from "./faces.js";
import { dropThumbnail, showThumbnail } from "./thumbs.js";

export const VERDICT_TEXT = {
  real: "Likely real", fake: "Likely generated", uncertain: "Can't tell", error: "Could not check",
};

// Where a probability falls among its regime's zones ({t_real, t_fake}: info.zones, the rule's thresholds;
// null where the regime never gives that verdict), as runtime/verdict.py decides before other reasons.
export function zoneOf(p, zones) {
  if (zones.t_fake !== null && p >= zones.t_fake) return "fake";
  if (zones.t_real !== null && p <= zones.t_real) return "real";
  return "uncertain";
}

const percent = (x) => `${(100 * x).toFixed(1)}%`;

const ZONE_NAMES = { real: "likely real", uncertain: "can't tell", fake: "likely generated" };

// Each zone's range in words (null: the regime has no such zone), so the zones read without colour.
function zoneRanges({ t_real, t_fake }) {
  return {
    real: t_real === null ? null : `up to ${percent(t_real)}`,
    uncertain: t_real === null && t_fake === null ? "all of it, for this kind of image"
      : `${percent(t_real ?? 0)} to ${percent(t_fake ?? 1)}`,
    fake: t_fake === null ? null : `from ${percent(t_fake)}`,
  };
}

// 0–100% generated, split into the regime's three zones, with the row's probability marked on it.
function probabilityBar(p, zones) {
  const bar = el("span", "bar");
  bar.setAttribute("aria-hidden", "true"); // the zone line below says the same in words
  const edges = [0, zones.t_real ?? 0, zones.t_fake ?? 1, 1];
  ["real", "uncertain", "fake"].forEach((zone, i) => {
    const part = el("span", `zone zone-${zone}`);
    part.style.width = `${100 * Math.max(0, edges[i + 1] - edges[i])}%`; // CSSOM, allowed by style-src 'self'
    part.dataset.zone = zone;
    bar.append(part);
  });
  const mark = el("span", "mark");
  mark.style.left = `${100 * p}%`;
  bar.append(mark);
  Object.assign(bar.dataset, { tReal: String(zones.t_real), tFake: String(zones.t_fake) });
  return bar;
}

// The runtime decides the verdict (runtime/verdict.py, the same rule as the command line).
export function verdictOf(result) {
  return result.label === "error" ? "error" : result.verdict;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class ResultsTable {
  constructor({ tbody, summary, onExplain }) {
    Object.assign(this, { tbody, summary, onExplain });
    this.entries = [];
    this.sortKey = "added";
    this.filter = "all";
    this.zones = {}; // regime -> {t_real, t_fake} of the model in use (worker_api.info)
    this.zonesBoth = null; // the same under the rule over both detectors, for rows both judged (null: no CNN)
    this.flagMessages = {};
  }

  add(file) {
    const entry = { file, name: file.name, url: URL.createObjectURL(file), result: null, order: this.entries.length };
    const tr = el("tr");
    tr.dataset.testid = "result";
    tr.dataset.name = file.name;
    tr.dataset.state = "pending";
    const nameCell = el("td", "name");
    const thumb = el("img", "thumb");
    thumb.alt = "";
    showThumbnail(thumb, file); // decoded at thumbnail size when the row comes into view
    const flags = el("ul", "flags");
    nameCell.append(thumb, el("span", "file-name", file.name), flags);
    const verdictCell = el("td", "verdict");
    verdictCell.append(el("span", "verdict-text", "waiting…"));
    const probCell = el("td", "prob");
    tr.append(nameCell, verdictCell, probCell);
    entry.row = tr;
    this.entries.push(entry);
    this.tbody.append(tr);
    if (this.sortKey !== "added") this.place(entry);
    this.applyFilter(entry);
    return entry;
  }

  finish(entry, result) {
    entry.result = { label: result.label, verdict: result.verdict, reason: result.reason ?? null,
                     advice: result.advice ?? null, regime: result.regime ?? null,
                     p_fake: result.p_fake ?? null, features: result.features ?? null,
                     flags: result.flags || [], error: result.error || null,
                     detectors: result.detectors ?? null, opinions: result.opinions ?? null };
    entry.result.faces = result.faces || []; // runtime/facecheck.py; the CSV export writes their count
    const { row } = entry;
    const verdict = verdictOf(entry.result);
    row.dataset.state = "done";
    row.dataset.label = verdict;
    row.dataset.modelLabel = result.label;
    const [nameCell, verdictCell, probCell] = row.children;
    const verdictText = verdictCell.querySelector(".verdict-text");
    verdictText.textContent = VERDICT_TEXT[verdict];
    verdictText.className = `verdict-text verdict-${verdict}`;
    if (entry.result.reason) {
      row.dataset.reason = entry.result.reason;
      verdictText.after(el("span", "reason", entry.result.reason));
    }
    if (entry.result.advice) {
      row.dataset.advice = entry.result.advice;
      verdictCell.querySelector(".reason, .verdict-text").after(el("span", "advice", entry.result.advice));
    }
    if (result.label === "error") {
      row.dataset.error = result.error;
      probCell.append(el("span", "error-message", result.error));
    } else {
      row.dataset.features = JSON.stringify(result.features);
      row.dataset.flags = entry.result.flags.join(" ");
      row.dataset.detectors = entry.result.detectors ?? ""; // "both", or "spectral" (no CNN loaded, or in the model)
      row.dataset.opinions = JSON.stringify(entry.result.opinions); // each detector's own p_fake ("Why?" says them)
      this.showProbability(row, probCell, entry.result);
      const button = el("button", "explain", "Why?");
      button.type = "button";
      button.append(el("span", "visually-hidden", ` (explain the verdict for ${entry.name})`));
      button.addEventListener("click", () => this.onExplain(entry));
      verdictCell.append(button);
      const list = nameCell.querySelector(".flags");
      for (const code of entry.result.flags) {
        const li = el("li", "flag", this.flagMessages[code] || code);
        li.dataset.flag = code;
        list.append(li);
      }
    }
    showFaces(row, nameCell.querySelector(".thumb"), entry.result.faces, VERDICT_TEXT);
    this.applyFilter(entry);
    if (this.sortKey !== "added") this.place(entry);
    this.updateSummary();
  }

  // The probability with its regime's zones, under the rule that judged it (over both detectors, or the
  // spectral model's own); none for a row without one (no usable face, no usable number).
  showProbability(row, cell, { p_fake: p, regime, detectors }) {
    if (p === null) return;
    row.dataset.pFake = String(p);
    const zones = ((detectors === "both" && this.zonesBoth) || this.zones)[regime] ?? { t_real: null, t_fake: null };
    const zone = zoneOf(p, zones);
    row.dataset.regime = regime ?? "";
    row.dataset.zone = zone;
    const ranges = zoneRanges(zones);
    const all = Object.entries(ranges).filter(([, r]) => r).map(([z, r]) => `${ZONE_NAMES[z]}: ${r}`).join("; ");
    const line = el("span", "zone-text", `in the “${ZONE_NAMES[zone]}” zone (${ranges[zone]})`);
    line.append(el("span", "visually-hidden", `. Zones for this kind of image: ${all}.`));
    cell.append(el("span", "pct", percent(p)), probabilityBar(p, zones), line);
  }

  remove(entry) {
    URL.revokeObjectURL(entry.url);
    dropThumbnail(entry.row.querySelector(".thumb"));
    entry.row.remove();
    this.entries = this.entries.filter((e) => e !== entry);
    this.updateSummary();
  }

  clear() {
    for (const entry of this.entries) {
      URL.revokeObjectURL(entry.url);
      dropThumbnail(entry.row.querySelector(".thumb"));
    }
    this.entries = [];
    this.tbody.replaceChildren();
    this.updateSummary();
  }

  matches(entry) {
    if (this.filter === "all") return true;
    if (!entry.result) return false;
    if (this.filter === "flagged") return entry.result.flags.length > 0;
    return verdictOf(entry.result) === this.filter;
  }

  applyFilter(entry) {
    entry.row.hidden = !this.matches(entry);
  }

  setFilter(filter) {
    this.filter = filter;
    this.entries.forEach((e) => this.applyFilter(e));
    this.updateSummary();
  }

  setSort(key) {
    this.sortKey = key;
    this.sort();
  }

  comparator() {
    const p = (e) => (e.result && e.result.p_fake !== null ? e.result.p_fake : -1);
    return {
      added: (a, b) => a.order - b.order,
      "p-desc": (a, b) => p(b) - p(a) || a.order - b.order,
      "p-asc": (a, b) => (p(a) < 0) - (p(b) < 0) || p(a) - p(b) || a.order - b.order,
      name: (a, b) => a.name.localeCompare(b.name) || a.order - b.order,
    }[this.sortKey];
  }

  sort() {
    this.entries.sort(this.comparator());
    this.tbody.append(...this.entries.map((e) => e.row)); // moves the rows, keeps their state
  }

  // One new or finished entry moves to its place in the sorted order (the others stay sorted): a
  // binary search and one row moved, where re-sorting every row per file made a big batch quadratic.
  place(entry) {
    const compare = this.comparator();
    this.entries.splice(this.entries.indexOf(entry), 1);
    let lo = 0;
    for (let hi = this.entries.length; lo < hi;) {
      const mid = (lo + hi) >> 1;
      if (compare(this.entries[mid], entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.entries.splice(lo, 0, entry);
    this.tbody.insertBefore(entry.row, this.entries[lo + 1]?.row ?? null);
  }

  // Export rows in table order, whatever the filter shows: the CSV is the whole batch.
  results() {
    return this.entries.filter((e) => e.result).map((e) => ({ name: e.name, ...e.result }));
  }

  updateSummary() {
    const counts = { real: 0, fake: 0, uncertain: 0, error: 0 };
    let flagged = 0;
    for (const e of this.entries) {
      if (!e.result) continue;
      counts[verdictOf(e.result)] += 1;
      flagged += e.result.flags.length > 0;
    }
    const done = counts.real + counts.fake + counts.uncertain + counts.error;
    const shown = this.entries.filter((e) => !e.row.hidden).length;
    this.summary.dataset.counts = JSON.stringify({ ...counts, flagged, done });
    this.summary.textContent = done === 0 && this.entries.length === 0 ? "No images checked yet."
      : `${done} checked: ${counts.real} likely real, ${counts.fake} likely generated, ${counts.uncertain} can't tell, `
        + `${counts.error} could not be checked; ${flagged} flagged.`
        + (this.filter === "all" ? "" : ` Showing ${shown} of ${this.entries.length}.`);
  }
}
