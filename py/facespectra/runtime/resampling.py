"""Evidence from the pixels that a picture was resampled after it was made (enlarged, cropped and resized
back, straightened, resized down and back up), whatever its header says.

Why it works (Gallagher 2005; Kirchner 2008): a resampled pixel is a blend of its neighbours whose
weights depend on where it falls between the old pixels, and that position repeats: after an enlargement
by s it comes back every s pixels. So the size of the second difference along a row, averaged down the
columns (and likewise along columns), is periodic, at 1 - 1/s cycles/pixel, and its spectrum has a
peak there; an unresampled photo's spectrum is flat apart from JPEG's own peaks at k/8 (its 8×8 blocks),
which every JPEG has and which are therefore skipped. The score is the highest remaining peak against
the median of its neighbouring bins. Averaging over a whole axis is what lets the trace survive a later
JPEG save. A straightened photo is found by the resize that follows the rotation (its crop); the
rotation's own trace runs obliquely and cancels in these axis averages. The score never reads the
header or the JPEG quality. numpy only: the page runs this module in Pyodide.
"""

import numpy as np

MAX_SIDE = 1024  # at most the centre 1024² is read: enough rows to average, and a bounded cost
MIN_SIDE = 64
GRID_BINS = 3  # bins skipped either side of each k/8 frequency (the Hann window's main lobe and a spare)
MEDIAN_BINS = 15  # a peak is measured against the median of this many neighbouring bins


def score(img):
    """Decoded 8-bit luma image (Pillow mode "L") -> evidence that it was resampled after it was made:
    the natural log of the highest periodic peak over its neighbourhood (unedited seed photos: median 1.7,
    99th percentile 2.7); 0.0 when it is blank or too small to tell."""
    a = np.asarray(img)
    side = min(a.shape[0], a.shape[1], MAX_SIDE) // 8 * 8 if a.ndim == 2 else 0
    if side < MIN_SIDE:
        return 0.0
    top, left = (a.shape[0] - side) // 16 * 8, (a.shape[1] - side) // 16 * 8  # keeps JPEG's grid at k/8
    a = a[top:top + side, left:left + side].astype(np.int16)  # exact integer sums: fast, and page == CPython
    along_x = a[:, 1:-1] * 2  # twice the second difference, |value| <= 510
    along_x -= a[:, :-2]
    along_x -= a[:, 2:]
    along_y = a[1:-1] * 2
    along_y -= a[:-2]
    along_y -= a[2:]
    n = side - 8  # both maps cut to n×n so that k/8 falls on whole bins
    profiles = (np.abs(along_x)[4:-4, 3:-3].sum(axis=0, dtype=np.int32),
                np.abs(along_y)[3:-3, 4:-4].sum(axis=1, dtype=np.int32))
    window = np.hanning(n)
    power = 0.0
    for profile in profiles:
        power = power + np.abs(np.fft.rfft((profile - profile.mean()) * window)) ** 2
    if not power.any():  # blank, or no second difference varies
        return 0.0
    log_power = np.log(power + 1e-12 * power.max())
    half = MEDIAN_BINS // 2
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(log_power, half, mode="reflect"), MEDIAN_BINS)
    # the middle of each odd-sized window: np.median would import numpy.ma, which the page does not ship
    local = np.partition(windows, half, axis=1)[:, half]
    free = _grid_free(n)
    return float((log_power - local)[free].max()) if free.any() else 0.0


def _grid_free(n):
    """rfft bins of an n-point profile (n a multiple of 8) away from DC and from JPEG's k/8 peaks."""
    k = np.arange(n // 2 + 1)
    distance = np.abs((k + n // 16) % (n // 8) - n // 16)
    return (distance > GRID_BINS) & (k > GRID_BINS)
