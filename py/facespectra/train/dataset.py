"""Find labelled images in the layouts people actually download.

Accepted: folders named real/ and fake/ (any case) anywhere under the given paths,
Kaggle's training_real/ and training_fake/, or explicit --real DIR --fake DIR.
A missing or empty class is an error that says what was searched; a strong imbalance
is a warning, because balanced class weights cope but the metrics get noisier.
"""

import warnings
from dataclasses import dataclass
from pathlib import Path

REAL_NAMES = {"real", "training_real"}
FAKE_NAMES = {"fake", "training_fake"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
IMBALANCE_RATIO = 4.0


class DatasetError(ValueError):
    """The data cannot be used; the message says what was found."""


@dataclass(frozen=True)
class Item:
    path: Path
    label: int  # 0 real, 1 fake


def _images(folder):
    return sorted(p for p in Path(folder).rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _class_dirs(root):
    """Folders under root (root included) whose name marks a class; not inside another class folder."""
    found = {0: [], 1: []}
    stack = [Path(root)]
    while stack:
        d = stack.pop()
        name = d.name.lower()
        if name in REAL_NAMES or name in FAKE_NAMES:
            found[0 if name in REAL_NAMES else 1].append(d)
            continue
        stack.extend(sorted((c for c in d.iterdir() if c.is_dir() and not c.name.startswith(".")), reverse=True))
    return found


def discover(paths=(), real=(), fake=()):
    """-> list of Item (real first, each class sorted by path). Raises DatasetError."""
    dirs = {0: [Path(p) for p in real], 1: [Path(p) for p in fake]}
    for p in map(Path, paths):
        if not p.is_dir():
            raise DatasetError(f"{p} is not a folder")
        for label, ds in _class_dirs(p).items():
            dirs[label].extend(ds)
    for d in dirs[0] + dirs[1]:
        if not d.is_dir():
            raise DatasetError(f"{d} is not a folder")
    items = {label: sorted({f for d in ds for f in _images(d)}) for label, ds in dirs.items()}
    searched = ", ".join(map(str, paths)) or "(no DATA folder)"
    for label, name in ((0, "real"), (1, "fake")):
        if not dirs[label]:
            raise DatasetError(f"no {name} images: no folder named {name}/ or training_{name}/ under {searched}; "
                               f"pass --{name} DIR to name it")
        if not items[label]:
            raise DatasetError(f"the {name} class is empty: no images in {', '.join(map(str, dirs[label]))}")
    n0, n1 = len(items[0]), len(items[1])
    if max(n0, n1) > IMBALANCE_RATIO * min(n0, n1):
        warnings.warn(f"strong class imbalance: {n0} real vs {n1} fake images; classes are re-weighted, "
                      f"but the minority class's metrics will be noisy", stacklevel=2)
    return [Item(p, 0) for p in items[0]] + [Item(p, 1) for p in items[1]]
