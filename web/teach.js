// The model panel: which model checks now, teaching one on your own examples, importing and exporting
// weights files, going back to the shipped model. All the work is the workers' (worker_api's
// features_json, fit_json, load_model_json): the examples never leave this device, and nothing is fetched.
import { download } from "./csv.js";
import { filesFromDrop } from "./input.js";

// Teaching hundreds of large photos takes minutes in wasm; a fit that long is no crash.
const FIT_TIMEOUT_MS = 15 * 60_000;
// Weights files are about 20 kB; anything this big is not one, and would only stall the workers.
const MAX_WEIGHTS_BYTES = 5_000_000;
const SHIPPED = "the shipped model";

const $ = (sel) => document.querySelector(sel);
const pct = (x) => `${(100 * x).toFixed(0)}%`;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// Every worker of the pool switches together, so no two files of one batch are judged by different models:
// one ready worker checks the weights first (a refused file changes nothing), then the others follow, and
// workers not yet loaded or restarted after a crash load the same weights (Detector.weights).
class Models {
  constructor(pool, { onInfo, isBusy }) {
    Object.assign(this, { pool, onInfo, isBusy });
    this.nameEl = $("#model-name");
    this.messageEl = $("#model-message");
    this.restoreButton = $("#model-restore");
    this.switching = false;
    this.teaching = false; // the examples' features are in the current model's config until the fit is done
  }

  say(text, state) {
    this.messageEl.textContent = text;
    this.messageEl.dataset.state = state;
  }

  // text: a weights file's text, or null for the shipped model. Throws Error(message) and keeps the model.
  async use(text, name, kind) {
    if (this.switching) throw new Error("another model is being loaded");
    if (this.teaching) throw new Error("a model is being taught: wait until it is done");
    if (this.isBusy()) throw new Error("the images being checked must finish first (or cancel the rest)");
    const first = this.pool.detectors.find((d) => d.state === "ready");
    if (!first) throw new Error("the detector is not ready yet");
    this.switching = true;
    try {
      const answer = await first.request("model", null, { weights: text });
      if (answer.error) throw new Error(answer.error);
      const others = this.pool.detectors.filter((d) => d !== first);
      for (const d of this.pool.detectors) d.weights = text;
      // a worker still waiting loads these weights when its turn comes; the others switch now, and one that
      // fails to (it crashed, or never loaded) loads them when it restarts
      await Promise.allSettled(others.filter((d) => d.state !== "waiting")
        .map((d) => d.request("model", null, { weights: text })));
      const { type, id, ...info } = answer;
      this.onInfo(info);
      this.nameEl.textContent = name;
      this.nameEl.dataset.kind = kind;
      this.restoreButton.disabled = kind === "shipped";
      $("#model-rule").hidden = kind === "shipped" || Boolean(info.calibrated); // a rule of its own: nothing to say
    } finally {
      this.switching = false;
    }
  }
}

function describeReport(report, names) {
  const box = $("#teach-report");
  box.replaceChildren();
  const { real, fake } = report.per_class;
  box.append(el("h4", "Cross-validated estimate, before you use it"));
  const list = el("ul");
  list.append(
    el("li", `Accuracy (balanced): ${pct(report.accuracy)} of your examples, each judged by a model that `
      + `never saw it (${report.folds} folds by image).`),
    el("li", `Real photos called real: ${real.correct} of ${real.n}. Generated images called generated: `
      + `${fake.correct} of ${fake.n}.`),
    el("li", report.confident_errors.length
      ? `Confident errors: ${report.confident_errors.length} (wrong with 90% or more): `
        + `${report.confident_errors.map((i) => names[i]).join(", ")}. Check that they are in the right set.`
      : "Confident errors: none (no example was wrong with 90% or more)."),
    el("li", `Their JPEG re-saves: ${pct(report.resaved_accuracy)} right (balanced).`),
  );
  box.append(list);
  if (report.warnings.length) {
    const warnings = el("ul", undefined, "teach-warnings");
    warnings.dataset.testid = "teach-warnings";
    for (const w of report.warnings) warnings.append(el("li", w));
    box.append(warnings);
  }
  box.append(el("p", `The same folds chose the penalty (L2 ${report.l2}, of ${report.l2_search.length} tried), so the `
    + "estimate leans optimistic, the more so the fewer the examples. It describes images like your examples, "
    + "not every generator.", "fine"));
  box.hidden = false;
}

// onWorkerFree: a worker finished a teaching request, so files dropped meanwhile may go to it.
export function wireTeach({ pool, onInfo, isBusy, onWorkerFree }) {
  const models = new Models(pool, { onInfo, isBusy });
  const sets = { real: [], fake: [] };
  const statusEl = $("#teach-status");
  const startButton = $("#teach-start");
  const progress = $("#teach-progress");
  let taught = null; // {text, name}
  let stopped = false;

  const setStatus = (state, text) => {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  };
  const refresh = () => {
    startButton.disabled = models.teaching || !sets.real.length || !sets.fake.length;
    for (const kind of ["real", "fake"]) {
      const n = sets[kind].length;
      $(`#teach-${kind}-count`).textContent = n ? `${n} file${n === 1 ? "" : "s"} chosen` : "none chosen yet";
    }
  };
  const choose = (kind, files) => {
    sets[kind] = files;
    refresh();
  };

  for (const kind of ["real", "fake"]) {
    for (const input of [$(`#teach-${kind}`), $(`#teach-${kind}-folder`)]) {
      input.addEventListener("change", () => {
        choose(kind, Array.from(input.files));
        input.value = "";
      });
    }
    const zone = $(`#teach-${kind}-zone`);
    zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      event.stopPropagation();
      zone.classList.remove("over");
      filesFromDrop(event.dataTransfer).then((files) => choose(kind, files));
    });
  }

  // Each ready worker takes the next example until none is left: the examples' features and re-saves.
  async function extract(examples) {
    let next = 0, done = 0;
    progress.max = examples.length;
    progress.value = 0;
    const work = async (detector) => {
      for (let i = next++; i < examples.length && !stopped; i = next++) {
        const ex = examples[i];
        try {
          ex.result = await detector.request("features", await ex.file.arrayBuffer());
        } catch (err) {
          ex.result = { error: err.message || String(err) };
        }
        onWorkerFree();
        progress.value = ++done;
        setStatus("training", `Reading the examples on this device: ${done} of ${examples.length}…`);
      }
    };
    const ready = pool.detectors.filter((d) => d.state === "ready");
    if (!ready.length) throw new Error("the detector is not ready yet");
    await Promise.all(ready.map(work));
    if (stopped) throw new Error("stopped before every example was read");
  }

  async function teach() {
    models.teaching = true;
    stopped = false;
    taught = null;
    refresh();
    $("#teach-cancel").hidden = false;
    $("#teach-report").hidden = true;
    $("#teach-actions").hidden = true;
    progress.hidden = false;
    delete statusEl.dataset.cvAccuracy;
    setStatus("training", "Reading the examples on this device…");
    const t0 = performance.now();
    try {
      const examples = [...sets.real.map((file) => ({ file, label: 0 })), ...sets.fake.map((file) => ({ file, label: 1 }))];
      await extract(examples);
      const usable = examples.filter((ex) => !ex.result.error);
      const skipped = examples.filter((ex) => ex.result.error);
      $("#teach-cancel").hidden = true; // the fit is one Python call
      setStatus("training", `Fitting and cross-validating on ${usable.length} examples…`);
      progress.removeAttribute("value"); // indeterminate: one Python call
      const payload = JSON.stringify({ examples: usable.map((ex) => ({ label: ex.label, features: ex.result.features,
                                                                      size: ex.result.size })) });
      const tFit = performance.now();
      const detector = pool.detectors.find((d) => d.state === "ready");
      if (!detector) throw new Error("the detector stopped; reload the page");
      const answer = await detector.request("fit", null, { payload }, FIT_TIMEOUT_MS);
      const notRead = skipped.length ? ` ${skipped.length} file${skipped.length === 1 ? "" : "s"} could not be read: `
        + skipped.map((ex) => `${ex.file.name} (${ex.result.error})`).join("; ") + "." : "";
      if (answer.error) throw new Error(answer.error + notRead);
      const when = new Date().toLocaleString();
      taught = { text: answer.weights, name: `the model taught here on ${usable.length} images (${when})` };
      describeReport(answer.report, usable.map((ex) => ex.file.name));
      statusEl.dataset.cvAccuracy = String(answer.report.accuracy);
      statusEl.dataset.ms = String(performance.now() - t0); // read by bench/run.py, with the fit's share
      statusEl.dataset.fitMs = String(performance.now() - tFit);
      setStatus("done", `Taught on ${usable.length} images in ${((performance.now() - t0) / 1000).toFixed(1)} s; `
        + `estimated accuracy ${pct(answer.report.accuracy)}. It is not in use yet.${notRead}`);
      $("#teach-actions").hidden = false;
    } catch (err) {
      setStatus("error", `Could not teach a model: ${err.message || err}`);
    } finally {
      models.teaching = false;
      progress.hidden = true;
      $("#teach-cancel").hidden = true;
      refresh();
      onWorkerFree();
    }
  }

  async function switchTo(text, name, kind, what) {
    try {
      await models.use(text, name, kind);
      models.say(`Now checking with ${name}. Rows already in the table keep the verdict of the model that checked them.`, "ready");
    } catch (err) {
      models.say(`${what}: ${err.message || err}. Still checking with ${models.nameEl.textContent}.`, "error");
    }
  }

  startButton.addEventListener("click", teach);
  $("#teach-cancel").addEventListener("click", () => { stopped = true; });
  $("#teach-use").addEventListener("click", () => switchTo(taught.text, taught.name, "taught", "Cannot use the taught model"));
  $("#teach-export").addEventListener("click", () => {
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
    download(taught.text, `facespectra-taught-${stamp}.json`, "application/json");
  });
  $("#model-import").addEventListener("change", async (event) => {
    const input = event.target;
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    if (file.size > MAX_WEIGHTS_BYTES) {
      models.say(`Cannot use ${file.name}: it is ${(file.size / 1e6).toFixed(1)} MB, too large for a weights file. `
        + `Still checking with ${models.nameEl.textContent}.`, "error");
      return;
    }
    await switchTo(await file.text(), `the imported ${file.name}`, "imported", `Cannot use ${file.name}`);
  });
  $("#model-restore").addEventListener("click", () => switchTo(null, SHIPPED, "shipped", "Cannot go back"));
  refresh();
}
