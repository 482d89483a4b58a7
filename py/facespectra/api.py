"""The Python API, in the scikit-learn spirit: the CLI's rows from paths or bytes, and probabilities from
feature matrices for people who bring their own features.

    >>> from facespectra import Detector
    >>> detector = Detector.load()                 # the shipped weights, or Detector.load("my.json")
    >>> rows = detector.check(["photos/"])          # one row per file, as `facespectra predict` writes
    >>> detector.predict_proba(X)                   # X: (n, n_features) -> (n, 2), columns classes_
"""

import os
import stat
from pathlib import Path

from .runtime import worker_api
from .runtime.classify import error_row
from .runtime.decode import MAX_BYTES, too_many_bytes
from .runtime.errors import InputError
from .runtime.model import SpectralModel

SHIPPED_WEIGHTS = Path(__file__).resolve().with_name("model.json")


class Detector:
    """A fitted spectral model with the runtime's rules; rows are dicts with the CSV's columns
    (path, label, verdict, p_fake, reason, flags, faces, error) and the features.

    Rows carry the three verdicts and the calibrated p_fake, which need the file (its header says
    the image's size and compression); predict_proba and predict on bare features give the model's
    own probabilities and its side of the threshold."""

    def __init__(self, model):
        self.model = model
        self.classes_ = list(model.classes_)
        self.n_features_in_ = model.coef.shape[0]

    @classmethod
    def load(cls, weights=None):
        """From a weights file (default: the shipped one); OSError or WeightsError if unusable."""
        return cls(SpectralModel.load(SHIPPED_WEIGHTS if weights is None else weights))

    def check(self, paths):
        """Rows for image files and folders (recursed in sorted order, hidden files skipped).

        A file that cannot be read gets label "error" and a message; the others are still checked.
        """
        return [{"path": display_path(path), **_row(path, problem, self.model)} for path, problem in iter_files(paths)]

    def check_bytes(self, data):
        """The row (without a path) of one file's bytes."""
        return worker_api.check(data, self.model)

    def predict_proba(self, X):
        """(n, n_features) features -> (n, 2) the model's own probabilities of the classes_ (real, fake),
        before the verdict rule's calibration."""
        return self.model.predict_proba(X)

    def predict(self, X):
        """(n, n_features) features -> class names, at the model's threshold."""
        return self.model.predict(X)


def iter_files(paths):
    """(path, problem) per file: files as given, folders recursed in sorted order.

    Hidden files inside folders are skipped. Anything else that is not a folder is
    yielded (broken links, pipes: they get an error row, never vanish), and a folder
    that cannot be listed gets a row of its own.
    """
    for p in map(Path, paths):
        if p.is_dir():
            yield from _walk(p)
        else:
            yield p, None


def _walk(top):
    failed = []
    for root, dirs, files in os.walk(top, onerror=failed.append):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        while failed:
            exc = failed.pop(0)
            yield Path(exc.filename), f"cannot read folder: {exc.strerror or exc}"
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name, None
    for exc in failed:
        yield Path(exc.filename), f"cannot read folder: {exc.strerror or exc}"


def read_input(path):
    """The bytes of a regular file; OSError if unreadable, InputError if over the byte limit.

    Opened non-blocking so that a named pipe cannot hang the batch, checked to be a
    regular file so that /dev/zero cannot fill the memory, and never read past the
    limit (+1 byte, for a file that grows meanwhile: the decoder refuses it).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file (a device, pipe or socket)")
        if st.st_size > MAX_BYTES:
            raise too_many_bytes(st.st_size)
        return fh.read(MAX_BYTES + 1)


def display_path(path):
    """The path as valid UTF-8 text: bytes that are not UTF-8 are shown as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _row(path, problem, model):
    if problem:
        return error_row(problem)
    try:
        data = read_input(path)
    except OSError as exc:
        return error_row(f"cannot read file: {exc.strerror or exc}")
    except InputError as exc:
        return error_row(str(exc))
    try:
        return worker_api.check(data, model)
    except Exception as exc:  # a bug must cost one row, not the batch; the message asks for a report
        return error_row(f"internal error, please report: {type(exc).__name__}: {exc}")
