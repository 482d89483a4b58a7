// Main thread: the queue, the table and the status line. All Python runs in worker.js.
const $ = (sel) => document.querySelector(sel);
const statusEl = $("#status");
const progressEl = $("#load-progress");
const tbody = $("#results");
const summaryEl = $("#summary");

let worker = null;
let workerState = "loading";
const queue = [];
let inFlight = null;
let nextId = 1;
const counts = { real: 0, fake: 0, error: 0 };

function setStatus(state, message) {
  workerState = state;
  statusEl.dataset.state = state;
  statusEl.textContent = message;
}

function onWorkerMessage(event) {
  const msg = event.data;
  if (msg.type === "status") {
    if (msg.state === "loading" && msg.total) {
      const pct = Math.min(100, Math.round((100 * msg.loaded) / msg.total));
      progressEl.value = pct;
      setStatus("loading", `Downloading the detector… ${(msg.loaded / 1e6).toFixed(1)} of ${(msg.total / 1e6).toFixed(1)} MB (${pct}%)`);
    } else {
      setStatus(msg.state, msg.message);
    }
    if (msg.state === "ready") pump();
  } else if (msg.type === "result" && inFlight && msg.id === inFlight.id) {
    finish(inFlight, msg);
    inFlight = null;
    pump();
  }
}

function startWorker() {
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = onWorkerMessage;
  worker.onerror = (event) => {
    event.preventDefault();
    setStatus("error", `The detector stopped: ${event.message || "unknown error"}`);
  };
}

function addRow(name) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "result";
  tr.dataset.name = name;
  tr.dataset.state = "pending";
  const nameCell = document.createElement("td");
  nameCell.className = "name";
  nameCell.textContent = name; // names are text, never HTML
  const verdict = document.createElement("td");
  verdict.textContent = "waiting…";
  const prob = document.createElement("td");
  tr.append(nameCell, verdict, prob);
  tbody.append(tr);
  return tr;
}

function finish(job, msg) {
  const tr = job.row;
  tr.dataset.state = "done";
  tr.dataset.label = msg.label;
  const [, verdict, prob] = tr.children;
  verdict.className = `verdict-${msg.label}`;
  if (msg.label === "error") {
    verdict.textContent = "Could not check";
    prob.textContent = msg.error;
    tr.dataset.error = msg.error;
  } else {
    tr.dataset.pFake = String(msg.p_fake);
    tr.dataset.features = JSON.stringify(msg.features);
    verdict.textContent = msg.label === "fake" ? "Likely generated" : "Likely real";
    prob.textContent = `${(100 * msg.p_fake).toFixed(1)}%`;
  }
  counts[msg.label] += 1;
  summaryEl.textContent = `${counts.real + counts.fake + counts.error} checked: ${counts.real} likely real, ${counts.fake} likely generated, ${counts.error} could not be checked.`;
}

async function pump() {
  if (inFlight || workerState !== "ready" || queue.length === 0) return;
  inFlight = queue.shift();
  let bytes;
  try {
    bytes = await inFlight.file.arrayBuffer();
  } catch (err) {
    finish(inFlight, { label: "error", error: `cannot read the file: ${err.message || err}` });
    inFlight = null;
    pump();
    return;
  }
  worker.postMessage({ type: "classify", id: inFlight.id, name: inFlight.file.name, bytes }, [bytes]);
}

function addFiles(files) {
  for (const file of files) {
    queue.push({ id: nextId++, file, row: addRow(file.name) });
  }
  pump();
}

$("#file-input").addEventListener("change", (event) => {
  addFiles(Array.from(event.target.files));
  event.target.value = "";
});

const drop = $("#drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  addFiles(Array.from(event.dataTransfer.files));
});

startWorker();
