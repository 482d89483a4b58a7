"""facespectra: real-or-fake face images from their Fourier spectrum.

Kept import-free on purpose: the browser loads this package in Pyodide and
must not pull the trainer's dependencies (scipy, tqdm, matplotlib).
"""

__version__ = "0.1.0"


def __getattr__(name):
    """`from facespectra import Detector` without importing the API (and numpy) with the package."""
    if name == "Detector":
        from .api import Detector

        return Detector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
