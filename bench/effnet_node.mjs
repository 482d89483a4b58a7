// bench/run.py's CNN step in Pyodide: the dist's own Pyodide, wheels and runtime zip, and runtime/effnet.py with
// its converted weights from py/facespectra/runtime/ (dist/ ships neither: the page does not use the CNN), under Node.
//   node bench/effnet_node.mjs DIST REPS IMAGE...   -> prints {image path: median ms of runtime.effnet.features}
// The measurement itself is bench/effnet_timing.py, the same one run.py makes in CPython.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [dist, reps, ...images] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(dist, "build-manifest.json"), "utf8"));
const pyodideDir = path.resolve(dist, manifest.pyodideDir);
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const py = await loadPyodide({ indexURL: pyodideDir + "/" });
await py.loadPackage(manifest.packages, { messageCallback: () => {} });
const runtime = "/home/pyodide/runtime";
py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(dist, manifest.runtime))), "zip", { extractDir: runtime });
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
for (const name of ["effnet.py", "effnet.npz"]) {
  const file = path.join(root, "py", "facespectra", "runtime", name);
  py.FS.writeFile(`${runtime}/facespectra/runtime/${name}`, new Uint8Array(fs.readFileSync(file)));
}
py.FS.mkdirTree("/host");
py.FS.mount(py.FS.filesystems.NODEFS, { root: "/" }, "/host");
py.globals.set("ARGS", py.toPy([Number(reps), images.map((p) => path.resolve(p))]));
const out = py.runPython(`
import json, sys
sys.path[:0] = [${JSON.stringify(runtime)}, ${JSON.stringify("/host" + root)}]
from bench.effnet_timing import effnet_ms
reps, paths = ARGS
json.dumps({p: effnet_ms(open("/host" + p, "rb").read(), reps) for p in paths})
`);
console.log(out);
