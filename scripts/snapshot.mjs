// build.py's snapshot step: the interpreter's memory just after Pyodide has started, for return visits.
//   node scripts/snapshot.mjs PYODIDE_DIR RUNTIME_ZIP WEIGHTS OUT_FILE
// PYODIDE_DIR holds the shipped core, stdlib zip (with bytecode), wheels and lock: the snapshot remembers the
// stdlib zip's directory, so it is made from the very files it ships with. numpy and Pillow are not in it:
// Pyodide 0.27.7 keeps a loaded extension's functions in WebAssembly tables that a snapshot does not hold
// (one made after `import numpy` fails on restore with "table index is out of bounds"), so the worker loads
// them after restoring. Before it ships, the snapshot is checked: an interpreter restored from it and a
// freshly started one must give the same result row, byte for byte, for the same image.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, runtimeZip, weights, out] = process.argv.slice(2).map((p) => path.resolve(p));
const indexURL = pyodideDir + "/";
const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
const lock = JSON.parse(fs.readFileSync(indexURL + "pyodide-lock.json", "utf8"));
const packages = Object.keys(lock.packages);

// The browser's own values where Node's would differ (Node would give its script's path). A fixed hash seed
// and random seed keep the snapshot from depending on the build machine's entropy; the worker reseeds
// `random` after restoring, so visitors do not share its numbers.
const made = await loadPyodide({ indexURL, _makeSnapshot: true, _sysExecutable: "./this.program",
                                 env: { HOME: "/home/pyodide", PYTHONHASHSEED: "0" } });
made.runPython("import random; random.seed(0)");
const snapshot = made.makeMemorySnapshot();

// What web/worker.js does after loadPyodide, then one check of `image` -> the row's JSON.
async function row(options, image) {
  const py = await loadPyodide({ indexURL, packages, ...options });
  py.unpackArchive(new Uint8Array(fs.readFileSync(runtimeZip)), "zip", { extractDir: "/home/pyodide/runtime" });
  py.runPython("import sys; sys.path.insert(0, '/home/pyodide/runtime')");
  const glue = py.pyimport("facespectra.runtime.worker_api");
  glue.load_model(fs.readFileSync(weights, "utf8"));
  const bytes = image ?? py.runPython(`
import io
from PIL import Image
buf = io.BytesIO()
Image.effect_noise((512, 384), 40).convert("RGB").save(buf, "JPEG", quality=90)
buf.getvalue()`).toJs();
  return [glue.check_json(bytes), bytes];
}
const [fresh, image] = await row({}, null);
const [restored] = await row({ _loadSnapshot: snapshot }, image);
if (fresh === restored) {
  fs.writeFileSync(out, snapshot);
} else {
  console.error(`a restored interpreter's row differs from a fresh one's:\n${fresh}\n${restored}`);
  process.exitCode = 1; // not process.exit(): that would cut the message short on a pipe
}
