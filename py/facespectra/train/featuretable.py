"""Items × augmentation variants × feature configs -> feature matrices, in parallel and cached.

One worker task per source image: the image is decoded and re-encoded once per variant,
and every requested config is extracted from those bytes, so exploring several configs
costs one augmentation pass; the CNN's features (runtime/effnet.py) are taken from the same decode,
for the variants that ask for them. A file that cannot be read is skipped and listed, never fatal.
"""

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from tqdm import tqdm

from . import augment
from ..runtime.errors import InputError
from ..runtime import decode, graphics, resampling
from ..runtime.inputflags import header_facts
from .featcache import FeatureCache, cnn_entry_key, entry_key, file_hash
from ..runtime import effnet
from ..runtime.cnn import network_spec
from ..runtime.spectrum import extract_with_image


@dataclass
class FeatureTable:
    """Row r: item index items_idx[r], variant variants[r], label labels[r]; X[name][r] its features;
    sides[r], qualities[r] its header facts (shorter side, JPEG quality or 0), resampling[r] its pixels'
    evidence of resampling (runtime/resampling.py) and graphics[r] of graphics drawn over them
    (runtime/graphics.py), which the verdict rule reads."""

    items: list
    hashes: list
    items_idx: np.ndarray
    variants: list
    labels: np.ndarray
    X: dict
    sides: np.ndarray
    qualities: np.ndarray
    resampling: np.ndarray
    graphics: np.ndarray
    skipped: list = field(default_factory=list)  # (path, reason)
    cnn: np.ndarray = None  # the CNN's pooled features per row (NaN where not asked for); None: none asked for
    cnn_logit: np.ndarray = None  # the CNN head's out-of-fold log-odds per row (train/cnnhead.py), once fitted

    @cached_property
    def synthetic(self):
        """Per row, whether it is a synthetic fake (a variant made by an up-sampler, not a seed image)."""
        return np.array([bool(v.upsampler) for v in self.variants], dtype=bool)

    def rows(self, items_mask, variant_filter):
        """Boolean row mask: rows of the chosen items whose variant passes variant_filter(variant)."""
        keep = np.array([variant_filter(v) for v in self.variants], dtype=bool)
        return keep & np.asarray(items_mask)[self.items_idx]


def _task(args):
    path, content_hash, variants, configs, cache_root, cnn_wanted, network = args
    cache = FeatureCache(cache_root)
    out, data = [], None
    for v, wants_cnn in zip(variants, cnn_wanted):
        keys = [entry_key(content_hash, c, v) for c in [*configs, None]]
        if wants_cnn:
            keys.append(cnn_entry_key(content_hash, network, v))
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
                if wants_cnn and feats[-1] is None:
                    feats[-1] = effnet.features(decode.load(vbytes) if luma is None else luma)
                    cache.put(keys[-1], feats[-1])
            except (InputError, OSError) as exc:
                if v.identity:  # the source itself is unreadable: skip the image
                    return None, str(exc)
                return None, f"augmentation {v.key()} failed: {exc}"
        out.append(feats if wants_cnn else [*feats, None])
    return out, None


def _facts(data, luma=None):
    """What the verdict rule reads besides the features: shorter side, JPEG quality (0: none), resampling and
    graphics (read on the file's decoded luma, `luma` when already decoded, as classify reads them)."""
    side, quality = header_facts(data)
    luma = decode.load(data) if luma is None else luma
    return np.array([side, quality or 0, resampling.score(luma), graphics.score(luma)], dtype=np.float64)


def build(items, variants_of, configs, *, jobs=None, cache=None, desc="features", cnn_of=None):
    """variants_of(item_index, content_hash, label) -> list of Variant; configs: {name: FeatureConfig};
    cnn_of(item_index, variant) -> whether that row needs the CNN's features too (None: no row does)."""
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
        variants = variants_of(i, h, it.label)
        wanted = [bool(cnn_of and cnn_of(i, v)) for v in variants]
        tasks.append((i, (str(it.path), h, variants, cfgs, None if cache.root is None else str(cache.root), wanted,
                          network_spec() if any(wanted) else None)))
    rows_item, rows_var, rows_lab, feats, headers, cnn = [], [], [], {n: [] for n in names}, [], []
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
                headers.append(fs[len(names)])
                cnn.append(fs[-1])
    return FeatureTable(items=list(items), hashes=hashes, items_idx=np.array(rows_item, dtype=int),
                        variants=rows_var, labels=np.array(rows_lab, dtype=int),
                        X={n: np.array(feats[n]).reshape(len(rows_item), configs[n].n_features) for n in names},
                        sides=np.array([h[0] for h in headers], dtype=int),
                        qualities=np.array([h[1] for h in headers], dtype=int),
                        resampling=np.array([h[2] for h in headers], dtype=np.float64),
                        graphics=np.array([h[3] for h in headers], dtype=np.float64), skipped=skipped,
                        cnn=_cnn_matrix(cnn) if cnn_of else None)


def _cnn_matrix(vectors):
    """Rows of CNN features, NaN where a row has none."""
    out = np.full((len(vectors), effnet.N_FEATURES), np.nan)
    for r, v in enumerate(vectors):
        if v is not None:
            out[r] = v
    return out


class _Serial:
    """Same interface as the process pool, in this process (jobs=1, and easier to debug)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, iterable, chunksize=1):
        return map(fn, iterable)
