// The detector: Pyodide + the facespectra runtime modules, off the main thread so the page never freezes.
// Protocol — in: {type: "classify", id, name, bytes}; out: {type: "status", state, message, loaded, total}
// and {type: "result", id, label, p_fake, features, error}.
const base = new URL("./", import.meta.url);
const post = (msg) => self.postMessage(msg);

// Count the bytes of every response Pyodide fetches, for a truthful progress bar.
function countDownloads(total) {
  const realFetch = self.fetch.bind(self);
  let loaded = 0;
  self.fetch = async (input, init) => {
    const response = await realFetch(input, init);
    if (!response.body) return response;
    const counter = new TransformStream({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        post({ type: "status", state: "loading", message: "Downloading the detector…", loaded, total });
        controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(counter), {
      status: response.status, statusText: response.statusText, headers: response.headers,
    });
  };
}

const GLUE = `
import json
from facespectra.classify import classify_bytes
from facespectra.model import SpectralModel

MODEL = SpectralModel.loads(WEIGHTS_TEXT)

def classify_js(data):
    return json.dumps(classify_bytes(data.to_bytes(), MODEL))
`;

async function start() {
  const manifest = await (await fetch(new URL("build-manifest.json", base))).json();
  countDownloads(manifest.loadBytes);
  const indexURL = new URL(manifest.pyodideDir, base).href;
  const { loadPyodide } = await import(indexURL + "pyodide.mjs");
  const pyodide = await loadPyodide({ indexURL, packages: manifest.packages });
  const [runtime, weights] = await Promise.all([
    fetch(new URL(manifest.runtime, base)).then((r) => r.arrayBuffer()),
    fetch(new URL(manifest.weights, base)).then((r) => r.text()),
  ]);
  pyodide.unpackArchive(runtime, "zip", { extractDir: "/home/pyodide/runtime" });
  pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide/runtime')");
  pyodide.globals.set("WEIGHTS_TEXT", weights);
  try {
    pyodide.runPython(GLUE);
  } catch (err) {
    const lines = String(err.message || err).trim().split("\n");
    throw new Error(`The model file cannot be used. ${lines[lines.length - 1]}`);
  }
  return pyodide.globals.get("classify_js");
}

const ready = start().then(
  (classify) => {
    post({ type: "status", state: "ready", message: "Ready. Add images to check them." });
    return classify;
  },
  (err) => {
    post({ type: "status", state: "error", message: String(err.message || err) });
    return null;
  },
);

self.onmessage = async (event) => {
  const msg = event.data;
  if (msg.type !== "classify") return;
  const classify = await ready;
  if (!classify) {
    post({ type: "result", id: msg.id, label: "error", p_fake: null, features: null, error: "the detector did not load" });
    return;
  }
  let row;
  try {
    row = JSON.parse(classify(new Uint8Array(msg.bytes)));
  } catch (err) {
    const lines = String(err.message || err).trim().split("\n");
    row = { label: "error", p_fake: null, features: null, error: `internal error: ${lines[lines.length - 1]}` };
  }
  post({ type: "result", id: msg.id, ...row });
};
