// build.py's bytecode step: runs scripts/precompile.py inside the Pyodide being shipped.
//   node scripts/precompile.mjs PYODIDE_DIR RUNTIME_ZIP WEIGHTS NETWORK OUT_DIR
// PYODIDE_DIR holds the (slim) core, wheels and lock; NETWORK is the CNN's weights (effnet.npz), which the probe
// loads as the worker does after ready; OUT_DIR receives the rewritten stdlib zip, wheels and runtime zip (same
// file names).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, runtimeZip, weights, network, outDir] = process.argv.slice(2).map((p) => path.resolve(p));
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
// No column ranges in the line tables: a third smaller bytecode, tracebacks still name the line.
const py = await loadPyodide({ indexURL: pyodideDir + "/", env: { HOME: "/home/pyodide", PYTHONNODEBUGRANGES: "1" } });
const lock = JSON.parse(fs.readFileSync(path.join(pyodideDir, "pyodide-lock.json"), "utf8"));
await py.loadPackage(Object.keys(lock.packages), { messageCallback: () => {} });
py.unpackArchive(new Uint8Array(fs.readFileSync(runtimeZip)), "zip", { extractDir: "/home/pyodide/runtime" });
py.FS.mkdirTree("/host");
py.FS.mount(py.FS.filesystems.NODEFS, { root: "/" }, "/host");
const host = (p) => "/host" + p;
const wheels = Object.values(lock.packages).map((p) => host(path.join(pyodideDir, p.file_name)));
py.globals.set("ARGS", py.toPy([host(weights), host(network), host(path.join(pyodideDir, "python_stdlib.zip")), wheels,
                                  host(runtimeZip), host(outDir)]));
const n = py.runPython(`
import sys
sys.path[:0] = ["/home/pyodide/runtime", ${JSON.stringify(host(root))}]
from scripts import runtime_probe
modules = runtime_probe.loaded_modules(ARGS[0], ARGS[1])
from scripts import precompile
precompile.main(modules, *ARGS[2:])
`);
console.log(`precompile: ${n} modules as bytecode`);
