// bench/run.py's face-finding step in Pyodide: the dist's own Pyodide, wheels and runtime zip, under Node.
//   node bench/faces_node.mjs DIST REPS IMAGE...   -> prints {image path: median ms of runtime.faces.find_faces}
// Each image is decoded once (as the worker's check does) and looked at once before the timed calls.
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
const out = py.runPython(`
import json, statistics, sys, time
sys.path.insert(0, "/home/pyodide/runtime")
from facespectra.runtime import decode, faces
reps, paths = ARGS
result = {}
for p in paths:
    img = decode.load(open("/host" + p, "rb").read())
    faces.find_faces(img)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        faces.find_faces(img)
        times.append((time.perf_counter() - t) * 1000)
    result[p] = statistics.median(times)
json.dumps(result)
`);
console.log(out);
