// bench/run.py's face-finding step in Pyodide: the dist's own Pyodide, wheels and runtime zip, under Node.
//   node bench/faces_node.mjs DIST REPS IMAGE...   -> prints {image path: median ms of runtime.faces.find_faces}
// The measurement itself is bench/face_timing.py, the same one run.py makes in CPython.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [dist, reps, ...images] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(dist, "build-manifest.json"), "utf8"));
const pyodideDir = path.resolve(dist, manifest.pyodideDir);
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const py = await loadPyodide({ indexURL: pyodideDir + "/" });
await py.loadPackage(manifest.packages, { messageCallback: () => {} });
py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(dist, manifest.runtime))), "zip",
                 { extractDir: "/home/pyodide/runtime" });
py.FS.mkdirTree("/host");
py.FS.mount(py.FS.filesystems.NODEFS, { root: "/" }, "/host");
py.globals.set("ARGS", py.toPy([Number(reps), images.map((p) => path.resolve(p))]));
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const out = py.runPython(`
import json, sys
sys.path[:0] = ["/home/pyodide/runtime", ${JSON.stringify("/host" + root)}]
from bench.face_timing import find_faces_ms
reps, paths = ARGS
json.dumps({p: find_faces_ms(open("/host" + p, "rb").read(), reps) for p in paths})
`);
console.log(out);
