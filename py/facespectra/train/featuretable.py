"""Items × augmentation variants × feature configs -> feature matrices, in parallel and cached.

One worker task per source image: the image is decoded and re-encoded once per variant,
and every requested config is extracted from those bytes, so exploring several configs
costs one augmentation pass. A file that cannot be read is skipped and listed, never fatal.
"""

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from . import augment
from ..runtime.errors import InputError
from ..runtime import decode, resampling
from ..runtime.inputflags import header_facts
from .featcache import FeatureCache, entry_key, file_hash
from ..runtime.spectrum import extract_with_image


@dataclass
class FeatureTable:
    """Row r: item index items_idx[r], variant variants[r], label labels[r]; X[name][r] its features;
    sides[r], qualities[r] its header facts (shorter side, JPEG quality or 0) and resampling[r] its pixels'
    evidence of resampling (runtime/resampling.py), which the verdict rule reads."""

    items: list
    hashes: list
    items_idx: np.ndarray
    variants: list
    labels: np.ndarray
    X: dict
    sides: np.ndarray
    qualities: np.ndarray
    resampling: np.ndarray
    skipped: list = field(default_factory=list)  # (path, reason)

    def rows(self, items_mask, variant_filter):
        """Boolean row mask: rows of the chosen items whose variant passes variant_filter(variant)."""
        keep = np.array([variant_filter(v) for v in self.variants], dtype=bool)
        return keep & np.asarray(items_mask)[self.items_idx]


def _task(args):
    path, content_hash, variants, configs, cache_root = args
    cache = FeatureCache(cache_root)
    out, data = [], None
    for v in variants:
        keys = [entry_key(content_hash, c, v) for c in [*configs, None]]
        feats = [cache.get(k) for k in keys]
        if any(f is None for f in feats):
            try:
                if data is None:
                    with open(path, "rb") as fh:
                        data = fh.read()
                vbytes, luma = augment.apply(data, v), None
                for i, c in enumerate([*configs, None]):  # the facts last: they reuse a config's luma decode
                    if feats[i] is None:
                        if c is None:
                            feats[i] = _facts(vbytes, luma)
                        else:
                            img, feats[i] = extract_with_image(vbytes, c)
                            luma = img if img.mode == "L" else luma
                        cache.put(keys[i], feats[i])
            except (InputError, OSError) as exc:
                if v.identity:  # the source itself is unreadable: skip the image
                    return None, str(exc)
                return None, f"augmentation {v.key()} failed: {exc}"
        out.append(feats)
    return out, None


def _facts(data, luma=None):
    """What the verdict rule reads besides the features: shorter side, JPEG quality (0: none), resampling
    (read on the file's decoded luma, `luma` when already decoded, as classify reads it)."""
    side, quality = header_facts(data)
    return np.array([side, quality or 0, resampling.score(decode.load(data) if luma is None else luma)],
                    dtype=np.float64)


def build(items, variants_of, configs, *, jobs=None, cache=None, desc="features"):
    """variants_of(item_index, content_hash, label) -> list of Variant; configs: {name: FeatureConfig}."""
    cache = cache or FeatureCache(None)
    jobs = jobs or os.cpu_count() or 1
    names = list(configs)
    cfgs = [configs[n] for n in names]
    hashes, skipped, tasks = [], [], []
    for i, it in enumerate(tqdm(items, desc="hashing files", unit="file", leave=False)):
        try:
            h = file_hash(it.path)
        except OSError as exc:
            hashes.append(None)
            skipped.append((str(it.path), f"cannot read file: {exc.strerror or exc}"))
            continue
        hashes.append(h)
        tasks.append((i, (str(it.path), h, variants_of(i, h, it.label), cfgs,
                          None if cache.root is None else str(cache.root))))
    rows_item, rows_var, rows_lab, feats, headers = [], [], [], {n: [] for n in names}, []
    with ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else _Serial() as pool:
        results = pool.map(_task, [t for _, t in tasks], chunksize=2)
        for (i, task), (out, err) in tqdm(zip(tasks, results), total=len(tasks), desc=desc, unit="image"):
            if err is not None:
                skipped.append((task[0], err))
                continue
            for v, fs in zip(task[2], out):
                rows_item.append(i)
                rows_var.append(v)
                rows_lab.append(v.label(items[i].label))
                for n, f in zip(names, fs):
                    feats[n].append(f)
                headers.append(fs[-1])
    return FeatureTable(items=list(items), hashes=hashes, items_idx=np.array(rows_item, dtype=int),
                        variants=rows_var, labels=np.array(rows_lab, dtype=int),
                        X={n: np.array(feats[n]).reshape(len(rows_item), configs[n].n_features) for n in names},
                        sides=np.array([h[0] for h in headers], dtype=int),
                        qualities=np.array([h[1] for h in headers], dtype=int),
                        resampling=np.array([h[2] for h in headers], dtype=np.float64), skipped=skipped)


class _Serial:
    """Same interface as the process pool, in this process (jobs=1, and easier to debug)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, iterable, chunksize=1):
        return map(fn, iterable)
