"""Evidence from the pixels that a picture was resampled after it was made (enlarged, cropped and resized
back, straightened, resized down and back up), whatever its header says.

Why it works. Two traces of interpolation survive a later JPEG save, each only in part, so both are read:
- Periodic prediction error (Gallagher 2005, Kirchner 2008). An interpolated pixel is a fixed blend of
  its neighbours whose weights repeat with the sampling phase, so the error of a fixed linear predictor
  is periodic: for an enlargement by s its size repeats at 1 - 1/s cycles/pixel. Averaging |error| along
  rows and along columns makes that period a peak in a 1-D spectrum; a peak is read against the median
  of its neighbouring bins. Every JPEG has peaks at k/8 (its 8×8 blocks), so those bins are skipped.
- A spectral cut-off. An image enlarged by s has almost nothing above 0.5/s cycles/pixel but compression
  noise: its energy in the mid and high bands falls against the low band, and drops sharply at the cut.
The four statistics are combined by a fixed logistic model (WEIGHTS), so the score is a probability-like
number in [0, 1]. It never reads the JPEG quality. numpy only: the page runs this module in Pyodide.
"""

import numpy as np

MAX_SIDE = 1024  # the residual is read on at most the centre 1024², the spectrum on the centre 512²
SPECTRUM_SIDE = 512
GRID_BINS = 3  # bins skipped either side of each k/8 frequency (the Hann window's main lobe and a spare)
MEDIAN_BINS = 15  # a periodicity peak is measured against the median of this many neighbouring bins
BANDS = (0.05, 0.15, 0.3, 0.5)  # cycles/pixel: low, mid and high band edges for the cut-off
# Fitted by scripts/resampling_probe.py --fit (class-balanced logistic regression on the trainer's
# training split of the seed faces, both classes re-saved at JPEG q70-95: originals and sharpen, noise
# and tone edits against crop, enlarge, rotate and down-up edits); its printout replaces these lines.
MEAN = np.array([2.2121, -2.4916, -4.7274, 0.5683])
SCALE = np.array([0.8404, 0.8125, 0.9403, 0.1629])
WEIGHTS = np.array([2.4517, -0.4111, -0.5354, 0.5519])
BIAS = 0.5124


def score(img):
    """Decoded 8-bit luma image (Pillow mode "L") -> probability-like evidence in [0, 1] that it was
    resampled after it was made; 0.0 when it is blank or too small to tell."""
    stats = statistics(np.asarray(img))
    if stats is None or not np.isfinite(stats).all():
        return 0.0
    z = float(np.dot(WEIGHTS, (stats - MEAN) / SCALE) + BIAS)
    return float(1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0))))


def statistics(a):
    """2-D array -> [periodicity peak, mid band, high band, sharpest drop], or None if blank/tiny."""
    side = min(a.shape[0], a.shape[1], MAX_SIDE) // 8 * 8
    if a.ndim != 2 or side < 64:
        return None
    a = _centre(a, side).astype(np.float32)
    if np.ptp(a) == 0:
        return None
    return np.array([_periodicity(a), *_cutoff(_centre(a, min(side, SPECTRUM_SIDE)))])


def _centre(a, side):
    """The centre side×side square, its corner on a multiple of 8 so JPEG's grid stays at k/8."""
    top, left = (a.shape[0] - side) // 16 * 8, (a.shape[1] - side) // 16 * 8
    return a[top:top + side, left:left + side]


def _grid_free(n):
    """rfft bins of an n-point signal away from DC and from JPEG's k/8 peaks."""
    k = np.arange(n // 2 + 1)
    distance = np.abs((k + n // 16) % (n // 8) - n // 16)
    return (distance > GRID_BINS) & (k > GRID_BINS)


def _periodicity(a):
    """Highest peak of the |predictor error| profiles' spectrum over its local median (log power)."""
    e = np.abs(a[1:-1, 1:-1] - 0.5 * (a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:])
               + 0.25 * (a[:-2, :-2] + a[:-2, 2:] + a[2:, :-2] + a[2:, 2:]))[3:-3, 3:-3]  # side - 8: k/8 on bins
    n = e.shape[0]
    window = np.hanning(n)
    power = 0.0
    for profile in (e.mean(axis=0), e.mean(axis=1)):
        power = power + np.abs(np.fft.rfft((profile - profile.mean()) * window)) ** 2
    log_power = np.log(power + 1e-12)
    half = MEDIAN_BINS // 2
    padded = np.pad(log_power, half, mode="reflect")
    local = np.median(np.lib.stride_tricks.sliding_window_view(padded, MEDIAN_BINS), axis=1)
    free = _grid_free(n)
    return float((log_power - local)[free].max()) if free.any() else 0.0


def _cutoff(a):
    """Log energy of the mid and high bands over the low band, and the sharpest drop between adjacent
    windows above 0.2 cycles/pixel, from the luma's spectrum along both axes (JPEG's k/8 bins skipped)."""
    n = a.shape[0]
    window = np.hanning(n).astype(np.float32)
    f2 = np.abs(np.fft.rfft2((a - a.mean()) * window[:, None] * window[None, :])) ** 2
    along_x = f2.sum(axis=0)
    along_x[1:-1] *= 2.0  # both signs of fx, as along_y folds both signs of fy
    along_y = f2[:, 0] + f2[:, -1] + 2.0 * f2[:, 1:-1].sum(axis=1)
    along_y = along_y[:n // 2 + 1] + np.r_[0.0, along_y[:n // 2:-1], 0.0]
    freq = np.arange(n // 2 + 1) / n
    keep = _grid_free(n)
    power, freq = (along_x + along_y)[keep], freq[keep]
    bands = [np.log(power[(freq >= lo) & (freq < hi)].mean() + 1e-12) for lo, hi in zip(BANDS[:-1], BANDS[1:])]
    log_power = np.log(power + 1e-12)
    width = max(2, round(0.02 * n))  # windows of 0.02 cycles/pixel, in kept bins
    ends = np.cumsum(np.r_[0.0, log_power])
    means = (ends[width:] - ends[:-width]) / width  # mean of kept bins i .. i+width-1
    drops = means[:-width] - means[width:]  # window ending at i+width-1 minus window starting at i+width
    at = freq[width:len(freq) - width + 1] >= 0.2
    drop = float(drops[at].max()) if at.any() else 0.0
    return bands[1] - bands[0], bands[2] - bands[0], drop
