"""Three verdicts — real, fake, uncertain — by a rule fitted by cross-validation and stored in the weights.

The model detects traces of a generator. Where an image is too degraded for traces to survive, their
absence is no evidence of a real photo, so each input regime (from the header: size, JPEG quality, a
lossy codec other than JPEG; from the pixels: resampled after it was made, blurred, graphics drawn over
it) has its own calibration and its own two thresholds, chosen on out-of-fold predictions so that
confident errors stay within the target for real and for fake photos separately. A regime whose data
never allowed a safe "real" has no real threshold: it can say "generated" or "can't tell", never "real".
A rule over two detectors (the spectral model's and the CNN's log-odds: runtime/cnn.py) calibrates both
together and reads the larger of that and the spectral model's own calibration, and either one's own
calibration leaning "generated" vetoes "real".
Inputs far from every training image (by the distance of their standardised features) are never judged.
numpy + standard library only: the page runs this module in Pyodide.
"""

import math

import numpy as np

from .inputflags import LOW_JPEG_QUALITY, SMALL_SIDE  # the regimes' edges are the flags' edges

FULL_SIDE = 1000  # the training faces are 1024 px: a shorter side under this was made smaller
# "near_full": downscaled less than the rule's `near_full_side` allows (a fitted rule's choice, or none), so a
# generator's look survives better than in the rest of "reduced" and gets thresholds of its own
REGIMES = ("full", "resampled", "smoothed", "near_full", "reduced", "small", "heavy", "webp", "graphics")

REASONS = {
    "small": "too small: {side} px on the shorter side, and the traces of a generator need more",
    "near_full": "a little smaller than the photos it learnt from ({side} px): not enough of the traces of a "
                 "generator survived to tell",
    "reduced": "downscaled or smaller than the photos it learnt from ({side} px): the traces of a generator "
               "may have been resized away",
    "heavy": "heavy JPEG compression (quality about {quality}) wipes out the traces it reads",
    "resampled": "resized or rotated after it was made: its pixels show the regular traces of resampling, which "
                 "also erases the traces of a generator",
    "smoothed": "little fine detail for a photo: blurred, smoothed or out of focus, which also wipes out the traces "
                "of a generator",
    "webp": "lossy WebP compression, which it never learnt from: WebP's blocks can look like a generator's "
            "traces",
    "graphics": "graphics or text drawn over the picture (flat fills beside sharp edges), which it never learnt "
                "from: their edges look like a generator's traces",
    "unlike": "unlike the photos it learnt from: its spectrum is far from all of them",
    "disagree": "the two detectors disagree: one sees no trace of a generator, the other leans towards one",
    "close": "too close to call: the evidence is not strong enough either way for a verdict",
    "no_traces": "no clear trace of a generator, which is no evidence of a real photo: a generated face that was "
                 "blurred, resized or cropped shows none either",
}


def regime(side, quality, codec=None, was_resampled=False, was_smoothed=False, near_full_side=None,
           has_graphics=False):
    """The input regime of an image: shorter side in pixels, JPEG quality or None and the lossy codec other
    than JPEG it was saved with (inputflags.lossy_codec) or None, all from its header; and whether its pixels
    show it was resampled after it was made (is_resampled()) or blurred (is_smoothed()), which a header
    cannot tell. `near_full_side`: the shortest side still "near_full" (None: every downscaled image is
    "reduced"). Blur counts under FULL_SIDE too (blurred, then downscaled to 800 px, held-out real photos
    scored up to p 0.986 in "near_full", whose "generated" threshold was 0.9915); resampling counts at full
    size only, as every downscale is a resample. `has_graphics`: its pixels show graphics drawn over it
    (has_graphics()), which no training photo has, at any size from SMALL_SIDE."""
    if side < SMALL_SIDE:
        return "small"
    if quality is not None and quality < LOW_JPEG_QUALITY:
        return "heavy"
    if codec == "webp":
        return "webp"
    if has_graphics:
        return "graphics"
    if side < FULL_SIDE:
        if was_smoothed:
            return "smoothed"
        return "near_full" if near_full_side is not None and side >= near_full_side else "reduced"
    if was_resampled:
        return "resampled"
    if was_smoothed:
        return "smoothed"
    return "full"


def _flagged(value, rule, key, below=False):
    """Whether a pixel measure is beyond the rule's flag `key` (above it; below it with `below`): never where the
    rule has no such flag or the measure was not taken, always where the measure is no number, so a flag
    can only withhold."""
    limit = rule.get(key) if rule else None
    if limit is None or value is None:
        return False
    return not math.isfinite(value) or (value < limit if below else value > limit)


def is_resampled(score, rule):
    """Whether an image's resampling score (runtime/resampling.py) is above the rule's fitted flag."""
    return _flagged(score, rule, "resampling_threshold")


def is_smoothed(detail, rule):
    """Whether an image's fine detail (spectrum.fine_detail) is below the rule's fitted flag."""
    return _flagged(detail, rule, "detail_threshold", below=True)


def has_graphics(score, rule):
    """Whether an image's graphics score (runtime/graphics.py) is above the rule's limit, the highest of the
    unedited training photos'."""
    return _flagged(score, rule, "graphics_threshold")


def sigmoid(z):
    """Numerically stable logistic function (no overflow warnings for large |z|)."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def distance(z_features):
    """Mean squared standardised feature: how far an image lies from the training distribution
    (one value per row of a matrix of standardised features)."""
    z = np.asarray(z_features, dtype=np.float64)
    return np.mean(z * z, axis=-1)


# A NaN compares false with every threshold, so it would fall through to a confident "real": any
# non-finite number on the way to a verdict withholds it instead (and p_fake is None, as JSON has no NaN).
NO_NUMBER = "the model gave no usable number for this image"


def withheld(name, side, quality, decides=False):
    """The reason for "uncertain" in regime `name` when no threshold was met: in a regime that gives both
    verdicts (`decides`: both thresholds, or a taught model's own rule) the evidence fell short; in "full"
    without a "real" threshold the absence of traces proves nothing; elsewhere the input is why."""
    if decides:
        return REASONS["close"]
    if name == "full":
        return REASONS["no_traces"]
    return REASONS[name].format(side=side, quality=quality)


def pixel_regime(side, quality, codec, rule, resampling=None, detail=None, graphics=None):
    """regime() with the pixels' evidence read against the rule's flags (None: not measured) and its size band."""
    return regime(side, quality, codec, is_resampled(resampling, rule), is_smoothed(detail, rule),
                  rule.get("near_full_side") if rule else None, has_graphics(graphics, rule))


def calibration(part, logits):
    """A regime's calibrated log-odds for the detectors' log-odds (one: the spectral model's; two: the
    spectral model's and the CNN's), and whether a "real" verdict is vetoed.

    With two detectors the pair's calibration is fitted on the seed generator's fakes, which the CNN
    separates best, so it leans on the CNN; the log-odds are the larger of the pair's and the spectral
    model's own, so up-sampling traces only the spectral model sees (the synthetic fakes' other
    up-samplers) still count. Either detector's own p_fake of at least 0.5 (it leans "generated") forbids
    calling the image real. `logits` holds a number per detector for one image, or an array per detector
    for many (the trainer's rule fit)."""
    *a, b = part["platt"]
    z = sum(ai * zi for ai, zi in zip(a, logits)) + b
    alone = [ai * zi + bi for (ai, bi), zi in zip(part.get("own", ()), logits)]
    if alone:
        z = np.maximum(z, alone[0])
    veto = False
    for own in alone:
        veto = veto | (own >= 0)
    return z, veto


def decide(logit, side, quality, dist, rule, codec=None, resampling=None, detail=None, cnn_logit=None, graphics=None):
    """-> (verdict, calibrated p_fake, reason or None) for one image under a fitted rule; `resampling`,
    `detail` and `graphics` are its pixels' resampling score, fine detail and graphics score (None: not
    measured); `cnn_logit` the second detector's log-odds, which a rule over both detectors (a "platt" of
    three numbers) needs."""
    name = pixel_regime(side, quality, codec, rule, resampling, detail, graphics)
    part = rule["regimes"][name]
    logits = (logit,) if len(part["platt"]) == 2 else (logit, cnn_logit)
    if not (all(z is not None and math.isfinite(z) for z in logits) and math.isfinite(dist)):
        return "uncertain", None, NO_NUMBER
    z, veto = calibration(part, logits)
    if not math.isfinite(z):
        return "uncertain", None, NO_NUMBER
    p = float(sigmoid(z))
    if dist > rule["max_distance"]:
        return "uncertain", p, REASONS["unlike"]
    t_fake, t_real = part["t_fake"], part["t_real"]
    if t_fake is not None and p >= t_fake:
        return "fake", p, None
    if t_real is not None and p <= t_real and not veto:
        return "real", p, None
    if t_real is not None and p <= t_real:
        return "uncertain", p, REASONS["disagree"]
    return "uncertain", p, withheld(name, side, quality, t_fake is not None and t_real is not None)


def _is_number(value):
    """A finite JSON number (bool is an int in Python, and true is no number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate(rule, inputs=1):
    """ValueError naming the problem if a rule from a weights file is not one decide() can apply to `inputs`
    detectors' log-odds (1: the spectral model's; 2: also the CNN's, with each one's own calibration)."""
    if not isinstance(rule, dict) or not isinstance(rule.get("regimes"), dict):
        raise ValueError("verdict_rule must be an object with 'regimes' and 'max_distance'")
    if not _is_number(rule.get("max_distance")) or not rule["max_distance"] > 0:
        raise ValueError("verdict_rule.max_distance must be a positive finite number")
    edge = rule.get("near_full_side")
    flags = {name: rule.get(f"{key}_threshold")
             for name, key in (("resampled", "resampling"), ("smoothed", "detail"), ("graphics", "graphics"))}
    flags["near_full"] = edge
    for key in ("resampling_threshold", "detail_threshold", "graphics_threshold"):
        if rule.get(key) is not None and not _is_number(rule[key]):
            raise ValueError(f"verdict_rule.{key} must be null or a finite number")
    if edge is not None and not (_is_number(edge) and SMALL_SIDE < edge <= FULL_SIDE):
        raise ValueError(f"verdict_rule.near_full_side must be null or a number in ({SMALL_SIDE}, {FULL_SIDE}]")
    for name in REGIMES:
        part = rule["regimes"].get(name)
        if flags.get(name, 0) is None and part is None:
            continue  # no image is ever read in that regime (weights fitted before its flag, or without it)
        if not isinstance(part, dict):
            raise ValueError(f"verdict_rule.regimes lacks {name!r}")
        platt = part.get("platt")
        if not (isinstance(platt, list) and len(platt) == inputs + 1 and all(_is_number(v) for v in platt)):
            raise ValueError(f"verdict_rule.regimes.{name}.platt must be {inputs + 1} finite numbers")
        own = part.get("own")
        if inputs > 1 and not (isinstance(own, list) and len(own) == inputs and all(
                isinstance(ab, list) and len(ab) == 2 and all(_is_number(v) for v in ab) for ab in own)):
            raise ValueError(f"verdict_rule.regimes.{name}.own must be {inputs} pairs of finite numbers")
        for key in ("t_fake", "t_real"):
            t = part.get(key)
            if t is not None and not (_is_number(t) and 0 <= t <= 1):
                raise ValueError(f"verdict_rule.regimes.{name}.{key} must be null or a number in [0, 1]")


BAND = 0.1  # models without a fitted rule (taught in the page, older weights): this close to the threshold


def decide_band(p, threshold, name="full", side=None, quality=None):
    """-> (verdict, p_fake, reason) for a model without a fitted rule, in regime `name`: uncertain near
    its threshold, and outside "full" always (it was never shown that its traces survive there)."""
    if not math.isfinite(p):
        return "uncertain", None, NO_NUMBER
    if name != "full":
        return "uncertain", p, withheld(name, side, quality)
    if abs(p - threshold) < BAND:
        return "uncertain", p, REASONS["close"]
    return ("fake" if p >= threshold else "real"), p, None
