"""The per-image measurements bench/run.py makes, each run as it is by CPython (bench/run.py) and by Pyodide
under Node (bench/pyodide_timing.mjs), so the two sides of a ratio time exactly the same thing."""

import statistics
import time

from facespectra.runtime import decode


def median_ms(call, reps):
    """Median ms of `reps` calls of call(), after one untimed call (which loads weights and warms caches)."""
    call()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def find_faces_ms(data, reps):
    """runtime.faces.find_faces on the decoded image (decoded once, as the worker's check does)."""
    from facespectra.runtime import faces

    img = decode.load(data)
    return median_ms(lambda: faces.find_faces(img), reps)


def effnet_ms(data, reps):
    """runtime.effnet.features on the decoded image, in colour."""
    from facespectra.runtime import effnet

    img = decode.load(data, gray="mean")
    return median_ms(lambda: effnet.features(img), reps)


def resampling_ms(data, reps):
    """runtime.resampling.score on the decoded luma image, as classify reads it."""
    from facespectra.runtime import resampling

    img = decode.load(data)
    return median_ms(lambda: resampling.score(img), reps)
