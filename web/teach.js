// The model panel: which model checks now, teaching one on your own examples, importing and exporting
// weights files, going back to the shipped model. All the work is the workers' (worker_api's
// features_json, fit_json, prepare_model_json): the examples never leave this device, and nothing is fetched.
import { download } from "./csv.js";
import { filesFromDrop } from "./input.js";

// Teaching hundreds of large photos takes minutes in wasm; a fit that long is no crash.
const FIT_TIMEOUT_MS = 15 * 60_000;
// Weights files are about 20 kB; anything this big is not one, and would only stall the workers.
const MAX_WEIGHTS_BYTES = 5_000_000;
const SHIPPED = "the shipped model";

const $ = (sel) => document.querySelector(sel);
const pct = (x) => `${(100 * x).toFixed(0)}%`;
const pct1 = (x) => `${(100 * x).toFixed(1)}%`;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// Every worker of the pool switches together or none does, so no two files of one batch are judged by
// different models. Two phases: each loaded worker prepares the new model beside the one in use (checked,
// its info made, warmed up: worker_api.prepare_model); only when every one has does each commit, and if any
// refuses or stops, each drops it and the model in use stays everywhere. No file goes to a worker meanwhile
// (pool.paused). Workers not loaded yet, or restarted later, load the committed weights (Detector.weights).
class Models {
  constructor(pool, { onInfo, isBusy, onWorkerFree }) {
    Object.assign(this, { pool, onInfo, isBusy, onWorkerFree });
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
    if (!this.pool.detectors.some((d) => d.state === "ready")) throw new Error("the detector is not ready yet");
    const loaded = this.pool.detectors.filter((d) => d.state === "ready" || d.state === "loading");
    this.switching = true;
    this.pool.paused = true;
    try {
      const answers = await Promise.allSettled(loaded.map((d) => d.request("prepare", null, { weights: text })));
      const refusal = answers.map((a) => (a.status === "rejected"
        ? `the detector stopped while preparing it (${a.reason.reason ?? a.reason.message})` : a.value.error))
        .find(Boolean);
      if (refusal) {
        // a worker that stopped restarts with the weights in use: only those that answered drop theirs
        await Promise.allSettled(loaded.filter((d, i) => answers[i].status === "fulfilled")
          .map((d) => d.request("abort")));
        throw new Error(refusal);
      }
      for (const d of this.pool.detectors) d.weights = text; // a worker that stops now restarts on the new model
      await Promise.allSettled(loaded.map((d) => d.request("commit")));
      const { type, id, ...info } = answers[0].value;
      this.onInfo(info);
      this.nameEl.textContent = name;
      this.nameEl.dataset.kind = kind;
      this.restoreButton.disabled = kind === "shipped";
      $("#model-rule").hidden = kind === "shipped" || Boolean(info.calibrated); // a rule of its own: nothing to say
    } finally {
      this.switching = false;
      this.pool.paused = false;
      this.onWorkerFree();
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
  box.append(describeRule(report.rule));
  box.append(el("p", `The same folds chose the penalty (L2 ${report.l2}, of ${report.l2_search.length} tried), so the `
    + "estimate leans optimistic, the more so the fewer the examples. It describes images like your examples, "
    + "not every generator.", "fine"));
  box.hidden = false;
}

// Which verdict rule the taught model uses, in words (runtime/teachrule.py fits it from the same folds).
function describeRule(rule) {
  const p = el("p", undefined, "teach-rule");
  p.dataset.testid = "teach-rule";
  p.dataset.fitted = String(rule.fitted);
  const parts = Object.values(rule.regimes);
  if (!rule.fitted) {
    const enough = parts.some((r) => Math.min(r.examples_real, r.examples_fake) >= rule.min_backing);
    p.textContent = "Verdicts: no rule of its own. That needs, among images of one size and compression, at least "
      + `${rule.min_backing} examples of each kind beyond a threshold with no example wrong out of fold; `
      + (enough ? "here the examples' answers overlap too much. " : `here there are fewer than ${rule.min_backing} of a kind. `)
      + "So it gives a verdict only for full-size images (1000 px or more on the shorter side), says \"can't tell\" "
      + "within 10 points of 50%, and answers \"can't tell\" for every other image.";
    return p;
  }
  const said = parts.filter((r) => r.t_fake !== null || r.t_real !== null).map((r) => {
    const fake = r.t_fake === null ? "never \"likely generated\""
      : `"likely generated" from ${pct1(r.t_fake)} (${r.n_fake} generated examples lie beyond)`;
    const real = r.t_real === null ? "never \"likely real\""
      : `"likely real" up to ${pct1(r.t_real)} (${r.n_real} real examples lie beyond)`;
    return `for images ${r.words}: ${fake}, ${real}`;
  });
  p.textContent = `Verdicts: a rule of its own, fitted on the same out-of-fold answers: ${said.join("; ")}. `
    + "No example, nor any of its re-saves, was on the wrong side of these out of fold. Between them, and for any "
    + "other kind of image, it answers \"can't tell\".";
  return p;
}

// onWorkerFree: a worker finished a teaching request, so files dropped meanwhile may go to it.
export function wireTeach({ pool, onInfo, isBusy, onWorkerFree }) {
  const models = new Models(pool, { onInfo, isBusy, onWorkerFree });
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
                                                                      regimes: ex.result.regimes, size: ex.result.size })) });
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
