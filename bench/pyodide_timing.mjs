// bench/run.py's per-image steps in Pyodide: the dist's own Pyodide, wheels, runtime zip and CNN weights (written
// where runtime/effnet.py looks for them, as the page's worker does once it is ready), under Node.
//   node bench/pyodide_timing.mjs DIST REPS FUNCTION IMAGE...
//     -> prints {image path: median ms}; FUNCTION names one of bench/timing.py's, the same run.py calls in
//     CPython.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [dist, reps, fn, ...images] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(dist, "build-manifest.json"), "utf8"));
const pyodideDir = path.resolve(dist, manifest.pyodideDir);
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const py = await loadPyodide({ indexURL: pyodideDir + "/" });
await py.loadPackage(manifest.packages, { messageCallback: () => {} });
const runtime = "/home/pyodide/runtime";
py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(dist, manifest.runtime))), "zip", { extractDir: runtime });
py.FS.writeFile(`${runtime}/facespectra/runtime/effnet.npz`, new Uint8Array(fs.readFileSync(path.join(dist, manifest.network))));
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
py.FS.mkdirTree("/host");
py.FS.mount(py.FS.filesystems.NODEFS, { root: "/" }, "/host");
py.globals.set("ARGS", py.toPy([Number(reps), fn, images.map((p) => path.resolve(p))]));
const out = py.runPython(`
import json, sys
sys.path[:0] = [${JSON.stringify(runtime)}, ${JSON.stringify("/host" + root)}]
from bench import timing
reps, fn, paths = ARGS
json.dumps({p: getattr(timing, fn)(open("/host" + p, "rb").read(), reps) for p in paths})
`);
console.log(out);
