"""One measurement of face finding, run as it is by CPython (bench/run.py) and by Pyodide under Node
(bench/faces_node.mjs), so the two sides of the ratio time exactly the same thing."""

import statistics
import time

from facespectra.runtime import decode, faces


def find_faces_ms(data, reps):
    """Median ms of runtime.faces.find_faces on the decoded image (decoded once, as the worker's check
    does, and looked at once before the timed calls)."""
    img = decode.load(data)
    faces.find_faces(img)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        faces.find_faces(img)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)
