"""How far the page's numbers drift from CPython's: the page runs Pyodide 0.27.7's numpy 2.0.2 and
Pillow 10.2.0 (IJG libjpeg 9), CPython whatever current numpy and Pillow (libjpeg-turbo) it has.

A measurement run on demand, not a test; tests/test_page.py's parity bound rests on its numbers.
Both sides call facespectra.runtime.worker_api.check on the same bytes with the same weights: the seed
faces as they are, plus PNG, WebP and downscaled-JPEG variants of some of them made in memory. Per image:
the largest |feature difference|, |p_fake difference| (whole image, and per face), whether label, verdict
or reason differ, and whether the decoded pixels differ (the luma the features read, and a full RGB decode).

    FACESPECTRA_DIST=/tmp/dist-x .venv/bin/python build.py          # the dist whose Pyodide side is measured
    .venv/bin/python scripts/parity_drift.py --dist /tmp/dist-x [--weights W] [--every 10] [--json OUT]

The Pyodide side is scripts/parity_drift.mjs, which calls `pyodide_side` below inside the dist's Pyodide
(so this module imports only the standard library and numpy at the top).
"""

import hashlib
import json

import numpy as np

GROUPS = ("real", "fake", "png", "webp", "web512")
LABELS = {"real": "seed real JPEG", "fake": "seed fake JPEG", "png": "PNG (lossless)", "webp": "WebP q90",
          "web512": "512 px JPEG q85"}


def digest(arr):
    return None if arr is None else hashlib.sha256(repr(arr.shape).encode() + arr.tobytes()).hexdigest()


def decoded(data):
    """-> {"luma": the runtime's luma pixels (JPEG: the decoder's Y), "rgb": a full RGB decode}, None if refused."""
    from facespectra.runtime import decode
    from facespectra.runtime.errors import InputError

    out = {}
    for kind, gray in (("luma", "luma"), ("rgb", "mean")):
        try:
            out[kind] = np.asarray(decode.load(data, gray=gray))
        except InputError:
            out[kind] = None
    return out


def compact(row):
    """What is compared of a result row."""
    return {key: row[key] for key in ("label", "verdict", "p_fake", "reason", "features", "error")} | {
        "faces": [[f.get("verdict"), f.get("p_fake")] for f in row["faces"]]}


def pyodide_side(host, job_path, out_path):
    """Inside the dist's Pyodide (parity_drift.mjs): rows and pixel digests of the job's files; pixels that
    differ from CPython's digest are saved beside the output for the CPython side to compare."""
    from facespectra.runtime import worker_api

    with open(host + job_path) as f:
        job = json.load(f)
    with open(host + job["weights"]) as f:
        worker_api.load_model(f.read())
    results = []
    for i, item in enumerate(job["items"]):
        with open(host + item["path"], "rb") as f:
            data = f.read()
        result = {"row": compact(worker_api.check(data))}
        for kind, arr in decoded(data).items():
            result[kind] = digest(arr)
            if arr is not None and result[kind] != item[kind]:
                np.save(f"{host}{job['out_dir']}/{i}-{kind}.npy", arr)
        results.append(result)
    with open(host + out_path, "w") as f:
        json.dump(results, f)


def _variants(data):
    """In-memory re-encodings of one seed face: lossless PNG, WebP q90, and web-style 512 px JPEG q85."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(data)).convert("RGB")
    small = img.resize((512, round(512 * img.height / img.width)), Image.Resampling.LANCZOS)
    for group, image, fmt, options in (("png", img, "PNG", {"compress_level": 1}),
                                       ("webp", img, "WEBP", {"quality": 90}),
                                       ("web512", small, "JPEG", {"quality": 85})):
        buf = io.BytesIO()
        image.save(buf, fmt, **options)
        yield group, buf.getvalue()


def _items(seed_dir, every, tmp):
    """[(group, name, path)]: every seed face, and variants of every `every`-th one written to tmp."""
    seeds = [(cls, f"{cls}/{p.name}", p) for cls in ("real", "fake")
             for p in sorted((seed_dir / cls).glob("*.jpg"), key=lambda p: (len(p.stem), p.stem))]
    items = list(seeds)
    for k, (_, name, path) in enumerate(seeds[::every] if every else []):
        for group, data in _variants(path.read_bytes()):
            out = tmp / f"{k}-{group}"
            out.write_bytes(data)
            items.append((group, f"{group}:{name}", out))
    return items


def _stale_runtime(dist, manifest):
    """The runtime sources in which the dist's runtime zip differs from this checkout's (the dist is stale)."""
    import zipfile
    from pathlib import Path

    import facespectra.runtime

    src = Path(facespectra.runtime.__file__).parent
    with zipfile.ZipFile(dist / manifest["runtime"]) as z:
        shipped = {n: z.read(n) for n in z.namelist() if n.startswith("facespectra/runtime/") and n.endswith(".py")}
    local = {f"facespectra/runtime/{p.name}": p.read_bytes() for p in src.glob("*.py")}
    return sorted(n.split("/")[-1] for n in shipped.keys() | local.keys() if shipped.get(n) != local.get(n))


def _pixel_diff(arr, saved):
    """Largest |pixel difference| between CPython's and Pyodide's decode ("shape" if the sizes differ)."""
    other = np.load(saved)
    return "shape" if other.shape != arr.shape else int(np.abs(arr.astype(np.int16) - other.astype(np.int16)).max())


def _diff(cp, pd):
    """Per-image differences of two compacted rows."""
    def pdiff(a, b):
        return 0.0 if a is None and b is None else float("inf") if a is None or b is None else abs(a - b)

    feats = 0.0
    if cp["features"] is not None or pd["features"] is not None:
        a, b = np.array(cp["features"], dtype=float), np.array(pd["features"], dtype=float)
        feats = float(np.abs(a - b).max()) if a.shape == b.shape else float("inf")
    face_p = [pdiff(x[1], y[1]) for x, y in zip(cp["faces"], pd["faces"])]
    return {"feat": feats, "p": pdiff(cp["p_fake"], pd["p_fake"]), "face_p": max(face_p, default=0.0),
            "label": cp["label"] != pd["label"], "verdict": cp["verdict"] != pd["verdict"],
            "reason": cp["reason"] != pd["reason"],
            "faces": [f[0] for f in cp["faces"]] != [f[0] for f in pd["faces"]]}


def _fmt(x):
    return "inf" if x == float("inf") else f"{x:.1e}" if x else "0"


def _table(records):
    head = ("images", "n", "max|Δfeat|", "p99", "max|Δp_fake|", "p99", "max|Δp face|", "label≠", "verdict≠",
            "reason≠", "faces≠", "luma≠ (max px)", "RGB≠ (max px)")
    lines = [head]
    for group in (*GROUPS, "all"):
        rs = [r for r in records if group in (r["group"], "all")]
        if not rs:
            continue
        feat, p = np.array([r["feat"] for r in rs]), np.array([r["p"] for r in rs])
        cells = [LABELS.get(group, group), str(len(rs)), _fmt(feat.max()), _fmt(np.percentile(feat, 99)),
                 _fmt(p.max()), _fmt(np.percentile(p, 99)), _fmt(max(r["face_p"] for r in rs))]
        cells += [str(sum(r[k] for r in rs)) for k in ("label", "verdict", "reason", "faces")]
        for kind in ("luma", "rgb"):
            px = [r[kind] for r in rs if r[kind] is not None]
            worst = [str(max((v for v in px if isinstance(v, int)), default=0))]
            cells.append(f"{len(px)} ({', '.join(worst + sorted({v for v in px if isinstance(v, str)}))})")
        lines.append(cells)
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(str(c).rjust(w) for c, w in zip(line, widths)) for line in lines)


def main(argv=None):
    import argparse
    import os
    import platform
    import subprocess
    import tempfile
    import time
    from pathlib import Path

    import PIL
    from PIL import features as pil_features

    from facespectra.runtime import worker_api
    from facespectra.runtime.model import SpectralModel

    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dist", type=Path, default=Path(os.environ.get("FACESPECTRA_DIST", root / "dist")))
    ap.add_argument("--weights", type=Path, default=root / "weights" / "model.json")
    ap.add_argument("--seed-dir", type=Path, default=root.parent / "shared" / "data" / "seed-faces")
    ap.add_argument("--every", type=int, default=10, help="variants of every N-th seed face (0: none)")
    ap.add_argument("--json", type=Path, help="also write the per-image differences here")
    args = ap.parse_args(argv)

    dist, weights = args.dist.resolve(), args.weights.resolve()
    manifest = json.loads((dist / "build-manifest.json").read_text())
    stale = _stale_runtime(dist, manifest)
    if stale:
        print(f"WARNING: {dist}'s runtime zip differs from py/facespectra/runtime/ in {', '.join(stale)}: rebuild it")
    text = weights.read_text()
    model = SpectralModel.loads(text)
    print(f"CPython {platform.python_version()}: numpy {np.__version__}, Pillow {PIL.__version__} "
          f"(libjpeg-turbo {pil_features.version('jpg')}, libwebp {pil_features.version('webp')}); "
          f"Pyodide {manifest['pyodide']} from {dist}; weights {weights} "
          f"(sha256 {hashlib.sha256(text.encode()).hexdigest()[:12]}, verdict rule: {model.verdict_rule is not None})")

    with tempfile.TemporaryDirectory(prefix="parity-drift-") as tmp:
        tmp = Path(tmp)
        items = _items(args.seed_dir, args.every, tmp)
        t0 = time.monotonic()
        cp_rows, job_items = [], []
        for _, _, path in items:
            data = path.read_bytes()
            cp_rows.append(compact(worker_api.check(data, model)))
            job_items.append({"path": str(path.resolve()), **{k: digest(v) for k, v in decoded(data).items()}})
        t1 = time.monotonic()
        job = {"weights": str(weights), "out_dir": str(tmp), "items": job_items}
        (tmp / "job.json").write_text(json.dumps(job))
        subprocess.run(["node", str(root / "scripts" / "parity_drift.mjs"), str(dist), str(tmp / "job.json"),
                        str(tmp / "out.json")], check=True)
        t2 = time.monotonic()
        pd_results = json.loads((tmp / "out.json").read_text())

        records = []
        for i, ((group, name, path), cp, job_item, pd) in enumerate(zip(items, cp_rows, job_items, pd_results)):
            rec = {"group": group, "name": name, **_diff(cp, pd["row"])}
            arrays = None
            for kind in ("luma", "rgb"):
                rec[kind] = None
                if pd[kind] != job_item[kind]:
                    arrays = arrays or decoded(path.read_bytes())
                    saved = tmp / f"{i}-{kind}.npy"
                    rec[kind] = _pixel_diff(arrays[kind], saved) if saved.exists() and arrays[kind] is not None \
                        else "refused"
            records.append(rec)

    print(f"{len(records)} images; CPython {t1 - t0:.0f} s, Pyodide (Node) {t2 - t1:.0f} s\n")
    print(_table(records))
    print("\nlargest |Δp_fake|:")
    for r in sorted(records, key=lambda r: -r["p"])[:5]:
        print(f"  {r['name']}: Δp_fake {_fmt(r['p'])}, Δfeat {_fmt(r['feat'])}")
    if args.json:
        args.json.write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
