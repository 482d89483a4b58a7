"""A weights file's numeric fields, checked one by one: every refusal names the field and the problem, because a
half-valid model would give confident nonsense. numpy + standard library only (the page runs this)."""

import math
import sys

import numpy as np

from .errors import WeightsError


def vector(d, key, n, *, positive=False, section=""):
    """d[key], a list of n finite numbers (positive normal floats with `positive`); `section` names where d
    sits in the file (e.g. "cnn."), so a refusal names the field as the file spells it."""
    value, field = d.get(key), section + key
    if not isinstance(value, list):
        raise WeightsError(f"weights: {field} must be a list of numbers")
    if len(value) != n:
        raise WeightsError(f"weights: {field} has {len(value)} values, but the feature config gives {n} features")
    for i, v in enumerate(value):  # numpy would take true as 1 and "2" as 2
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise WeightsError(f"weights: {field}[{i}] is {v!r}, not a number")
    try:
        arr = np.array(value, dtype=np.float64)
    except OverflowError:
        raise WeightsError(f"weights: {field} holds an integer too large for a float") from None
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise WeightsError(f"weights: {field}[{bad[0]}] is not a finite number")
    # a denormal scale (1e-310 > 0) makes the standardised features overflow to infinity
    if positive and np.any(arr < sys.float_info.min):
        raise WeightsError(f"weights: {field}[{int(np.flatnonzero(arr < sys.float_info.min)[0])}] must be greater "
                           f"than 0 and at least {sys.float_info.min} (a normal float)")
    return arr


def number(d, key, lo=-math.inf, hi=math.inf, *, section=""):
    """d[key], a finite number in [lo, hi] (`section` as for vector)."""
    value, field = d.get(key), section + key
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise WeightsError(f"weights: {field} must be a finite number")
    if not lo <= value <= hi:
        raise WeightsError(f"weights: {field} is {value}, it must lie in [{lo}, {hi}]")
    return float(value)
