"""What the page's worker runs, on a small image of each accepted format and on broken files.

Used twice: tests/test_slim.py runs it in CPython to check that slim.py drops nothing the runtime
needs, and scripts/precompile.py runs it inside Pyodide to learn which modules to ship as bytecode.

    python scripts/runtime_probe.py WEIGHTS.json [EFFNET.npz]    # prints {module: file} as JSON
"""

import io
import json
import sys

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


def loaded_modules(weights_path, network_path=None):
    """Exercise the worker's calls (facespectra.runtime.worker_api, as web/worker.js does), with the CNN's
    weights at `network_path` handed over last, as the worker does after ready; -> {module name: its file or None}."""
    import numpy as np
    from PIL import Image

    from facespectra.runtime import worker_api

    with open(weights_path) as f:
        weights = f.read()
    worker_api.load_model(weights)
    pixels = ((np.arange(96 * 128 * 3) * 7919) % 251).astype(np.uint8).reshape(96, 128, 3)
    for fmt in FORMATS:
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, fmt)
        row = json.loads(worker_api.check_json(buf.getvalue()))
        if row["label"] == "error":
            raise RuntimeError(f"the probe's {fmt} image was refused: {row['error']}")
        worker_api.explain_json(buf.getvalue(), json.dumps(row["features"]))
        worker_api.check_json(buf.getvalue()[: len(buf.getvalue()) // 2])  # truncated
    worker_api.check_json(b"not an image")
    worker_api.info_json()
    teach(pixels, weights)
    if network_path is not None:
        network(network_path, pixels)
    return {name: getattr(m, "__file__", None) for name, m in list(sys.modules.items())}


def teach(pixels, weights):
    """The Teach panel's calls: examples' features with their re-saves, a fit, a model swap (prepared and
    committed), a refused one (aborted)."""
    import numpy as np
    from PIL import Image

    from facespectra.runtime import worker_api

    examples = []
    for seed in range(8):
        buf = io.BytesIO()
        Image.fromarray(np.roll(pixels, 7 * seed, axis=1)).save(buf, "JPEG")
        examples.append({**json.loads(worker_api.features_json(buf.getvalue())), "label": seed % 2})
    taught = json.loads(worker_api.fit_json(json.dumps({"examples": examples})))
    worker_api.prepare_model_json(taught["weights"])
    worker_api.commit_model()
    worker_api.prepare_model_json("{")
    worker_api.abort_model()
    worker_api.load_model(weights)


def network(path, pixels):
    """The second detector's calls: its weights checked, written and loaded, its warm-up, one check with it."""
    import hashlib

    from PIL import Image

    from facespectra.runtime import worker_api

    with open(path, "rb") as f:
        data = f.read()
    refused = worker_api.load_network(data, hashlib.sha256(data).hexdigest())
    if refused:
        raise RuntimeError(refused)
    worker_api.warm_up_network()
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG")
    worker_api.check_json(buf.getvalue())


if __name__ == "__main__":
    print(json.dumps(loaded_modules(*sys.argv[1:3])))
