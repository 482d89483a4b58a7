"""facespectra: real-or-fake face images from their Fourier spectrum.

Kept import-free on purpose: the browser loads this package in Pyodide and
must not pull the trainer's dependencies (scipy, tqdm, matplotlib).
"""

__version__ = "0.1.0"
