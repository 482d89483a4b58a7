"""One measurement of the CNN's features, run as it is by CPython (bench/run.py) and by Pyodide under Node
(bench/effnet_node.mjs), so the two sides of the ratio time exactly the same thing."""

import statistics
import time

from facespectra.runtime import decode, effnet


def effnet_ms(data, reps):
    """Median ms of runtime.effnet.features on the decoded image (in colour; decoded once, and its
    features taken once before the timed calls, which loads the weights)."""
    img = decode.load(data, gray="mean")
    effnet.features(img)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        effnet.features(img)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)
