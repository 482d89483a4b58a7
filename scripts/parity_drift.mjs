// scripts/parity_drift.py's Pyodide side: the dist's own Pyodide, wheels and runtime zip, under Node.
//   node scripts/parity_drift.mjs DIST JOB.json OUT.json
// JOB (written by parity_drift.py) names the weights, the image files and CPython's pixel digests;
// OUT receives Pyodide's rows and digests (parity_drift.pyodide_side).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [dist, job, out] = process.argv.slice(2).map((p) => path.resolve(p));
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const manifest = JSON.parse(fs.readFileSync(path.join(dist, "build-manifest.json"), "utf8"));
const indexURL = path.join(dist, manifest.pyodideDir) + "/";
const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
const py = await loadPyodide({ indexURL, env: { HOME: "/home/pyodide" } });
await py.loadPackage(manifest.packages, { messageCallback: () => {} });
py.unpackArchive(new Uint8Array(fs.readFileSync(path.join(dist, manifest.runtime))), "zip",
                 { extractDir: "/home/pyodide/runtime" });
py.FS.mkdirTree("/host");
py.FS.mount(py.FS.filesystems.NODEFS, { root: "/" }, "/host");
py.globals.set("ARGS", py.toPy(["/host", job, out]));
py.runPython(`
import sys
sys.path[:0] = ["/home/pyodide/runtime", ${JSON.stringify("/host" + root)}]
from scripts import parity_drift
parity_drift.pyodide_side(*ARGS)
`);
