"""On-disk cache of feature vectors, so a second training run with the same data takes seconds.

The key is the file's content hash + the feature config + the augmentation variant (plus a
format version), never the path: renaming or moving the data keeps the cache valid and a
changed file or recipe misses it. Entries are written atomically, so an interrupted run
never leaves a half-written vector behind.
"""

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from ..runtime import effnet, graphics, resampling
from .atomic import write_bytes_atomic

CACHE_VERSION = 2  # 2: float32 logarithm, grid-peak copies at column Nyquist counted once
DEFAULT_DIR = Path(".cache/features")
_FACTS_CODE = hashlib.sha256(b"".join(Path(m.__file__).read_bytes() for m in (resampling, graphics))).hexdigest()[:16]


def file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def entry_key(content_hash, config, variant):
    """config None: the variant's facts for the verdict rule (featuretable._facts) instead of features; their
    key holds the resampling and graphics checks' source hash, so a changed check misses the cache and features
    do not."""
    facts = "facts-" + _FACTS_CODE
    text = json.dumps({"v": CACHE_VERSION, "file": content_hash, "config": facts if config is None else config.to_dict(),
                       "variant": variant.key()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def cnn_entry_key(content_hash, network, variant):
    """The key of a variant's CNN features: `network` is runtime/cnn.network_spec() (the network's provenance
    and how its outputs are read), with runtime/effnet.py's FEATURES_VERSION."""
    text = json.dumps({"v": CACHE_VERSION, "file": content_hash, "cnn": {**network, "code": effnet.FEATURES_VERSION},
                       "variant": variant.key()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class FeatureCache:
    """get/put float64 vectors by key; root=None disables caching."""

    def __init__(self, root=DEFAULT_DIR):
        self.root = None if root is None else Path(root)

    def _path(self, key):
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key):
        if self.root is None:
            return None
        try:
            return np.load(self._path(key), allow_pickle=False)
        except (OSError, ValueError):
            return None

    def put(self, key, vector):
        if self.root is None:
            return
        buf = io.BytesIO()
        np.save(buf, np.asarray(vector, dtype=np.float64), allow_pickle=False)
        write_bytes_atomic(self._path(key), buf.getvalue())
