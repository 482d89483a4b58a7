"""Fit the three-verdict rule (runtime/verdict.py) on out-of-fold predictions.

Per input regime: a Platt calibration of the model's log-odds (class-balanced, so p_fake reads as if
real and generated faces were equally likely; fitted on the real photos and the seed generator's fakes,
not on the synthetic fakes: downscaled, those look like real photos to both detectors and would flatten
it until no threshold is left), then the lowest p_fake above which calling an image
generated stays within a target share of the real photos in every condition, and the highest p_fake
below which calling it real stays within it of the generated ones. The conditions include everyday
edits (edits.py), except those HELD_OUT_CONDITIONS kept apart to show the rule holds for edits it never
saw. The "resampled" regime takes the images whose resampling score (runtime/resampling.py) is above a
flag, the "smoothed" regime those whose fine detail (spectrum.fine_detail: blurred, smoothed, out of
focus) is below one: each a quantile of the unedited photos' values. Downscaled images are one regime,
"reduced", or two: "near_full", those downscaled by at most half an octave, where more of a generator's
look survives, gets thresholds of its own instead of those its most-reduced images allow.

The target share, a margin that moves both thresholds further towards their safe ends (thresholds at
the farthest wrong image seen are overshot by the next images), the flags' quantiles and the size bands
are chosen by cross-validation over the folds of those predictions (choose_rule): each fold is judged by the rule
fitted without it, and a choice keeps its promise when, in every fitted condition and for each class,
the one-sided 95% Clopper-Pearson upper bound of the confident-error rate is within PROMISE, or, where a
condition has too few images for any count to support that (fewer than 299), when it made no confident
error at all. Of the choices that keep it, the one that decides most images wins, and then each side
may take its own share, as each side's errors are its own (_sides_apart). If none keeps it,
the regime sides whose thresholds made the errors are withheld (no threshold: "can't tell") one at a
time until the rest keeps it, and the rule says so in "withheld"; the trainer prints them and the model
card must state them.

A regime the data cannot judge (too few images of either class) gets no thresholds; nor does a side
whose threshold would answer fewer than MIN_PER_CLASS images rightly. The distance limit is the
DISTANCE_QUANTILE of the out-of-fold photos' distances (in every condition, but not the synthetic fakes,
which are made to differ), so only inputs unlike nearly all of them are refused as "unlike the training
photos".
"""

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np
from tqdm import tqdm

from ..runtime.verdict import FULL_SIDE, REGIMES, calibration, decide, pixel_regime, sigmoid
from .bounds import CONFIDENCE, keeps_promise
from .evaluate import HELD_OUT_CONDITIONS, verdict_metrics

TARGETS = (0.01, 0.005, 0.0025, 0.0)  # fitted error shares tried
MARGINS = (0.0, 0.5, 1.0, 2.0, 4.0)  # log-odds the thresholds move further towards their safe ends, tried
FLAG_QUANTILES = (0.8, 0.9, 0.95, 0.99)  # share of unedited photos below the resampling flag, tried
DETAIL_QUANTILES = (0.01, 0.02, 0.05)  # share of unedited photos below the fine-detail flag, tried
NEAR_FULL_SIDES = (None, round(FULL_SIDE / math.sqrt(2)))  # the shortest "near_full" side, tried (None: no such band)
UNEDITED = ("as_distributed", "jpeg_q95", "jpeg_q85", "jpeg_q75", "jpeg_q65")
MIN_PER_CLASS = 20  # fewer images of a class in a regime and condition say nothing about its error rate
DISTANCE_QUANTILE = 0.995
SYNTHETIC = "synthetic"  # the rows of the validation photos' synthetic fakes (search.cv_score): fakes only


@dataclass(frozen=True)
class Setting:
    """One choice the cross-validation makes: the fitted error share, the extra margin, the quantiles of
    the unedited photos where the resampling and the fine-detail flags sit, and the shortest side of the
    "near_full" regime (None: none); `target_real`, where set, is the share the "real" side is fitted at
    instead (choose_rule)."""

    target: float
    margin: float
    quantile: float
    detail_quantile: float
    near_full_side: int = None
    target_real: float = None

    def share(self, bad_side):
        """The fitted error share of one side: "fake" (t_fake) or "real" (t_real)."""
        return self.target_real if bad_side == "real" and self.target_real is not None else self.target


SETTINGS = [Setting(t, m, q, d, e)
            for e, q, d, t, m in itertools.product(NEAR_FULL_SIDES, FLAG_QUANTILES, DETAIL_QUANTILES, TARGETS, MARGINS)]


def platt(logits, y, l2=1e-3, iters=100):
    """(a..., b) with p = sigmoid(a · logits + b), for one detector's log-odds (a vector) or several (columns):
    Newton's method with step halving on the class-balanced log-loss (a small pull of the a's towards equal
    shares of 1 keeps separable data finite)."""
    Z = np.asarray(logits, dtype=np.float64)
    Z = np.c_[Z.reshape(len(Z), -1), np.ones(len(Z))]
    k = Z.shape[1] - 1
    y = np.asarray(y, dtype=np.float64)
    w = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    prior = np.r_[np.full(k, 1.0 / k), 0.0]
    reg = np.r_[np.full(k, l2), 0.0]

    def loss(th):
        t = Z @ th
        return float(w @ (np.logaddexp(0, t) - y * t) + 0.5 * reg @ (th - prior) ** 2)

    th = prior.copy()
    for _ in range(iters):
        p = sigmoid(Z @ th)
        grad = Z.T @ (w * (p - y)) + reg * (th - prior)
        hess = (Z * (w * p * (1 - p))[:, None]).T @ Z + np.diag(reg + np.r_[np.zeros(k), 1e-12])
        step = np.linalg.solve(hess, grad)
        before, scale = loss(th), 1.0
        while scale > 1e-6 and loss(th - scale * step) > before:
            scale /= 2
        th = th - scale * step
        if np.abs(scale * step).max() < 1e-10:
            break
    return tuple(float(v) for v in th)


def _threshold(p, wrong_groups, right, bad_side, setting):
    """The threshold nearest the safe end that keeps, in every condition, the wrong class's share beyond it
    within the setting's target, moved the setting's margin (in log-odds) further towards the safe end; None
    unless it answers at least MIN_PER_CLASS images of the right class (fewer are no evidence).
    bad_side "fake": t_fake (reals with p >= t are errors); "real": t_real (fakes with p <= t)."""
    candidates = np.unique(np.r_[p, 0.0, 1.0])
    ok = np.ones(len(candidates), dtype=bool)
    for wrong in wrong_groups:  # p of the wrong class in one condition
        allowed = int(np.floor(setting.share(bad_side) * len(wrong)))
        ok &= _beyond(wrong, candidates, bad_side) <= allowed
    if not ok.any():
        return None
    t = float(candidates[ok].min() if bad_side == "fake" else candidates[ok].max())
    if setting.margin:
        t = float(sigmoid(_logit(t) + (setting.margin if bad_side == "fake" else -setting.margin)))
    return t if _beyond(right, np.array([t]), bad_side)[0] >= MIN_PER_CLASS else None


def _logit(p):
    p = min(max(p, 1e-12), 1 - 1e-12)
    return float(np.log(p / (1 - p)))


def _beyond(values, candidates, side):
    """How many values each candidate threshold would answer: >= t for "fake", <= t for "real"."""
    values = np.sort(values)
    if side == "fake":
        return len(values) - np.searchsorted(values, candidates, side="left")
    return np.searchsorted(values, candidates, side="right")


def _fitted(rows):
    return {name: r for name, r in rows.items() if name not in HELD_OUT_CONDITIONS}


def _regimes(rule, r):
    return np.array([pixel_regime(int(s), int(q) or None, None, rule, float(x), float(d), float(g))
                     for s, q, x, d, g in zip(r["side"], r["quality"], r["resampling"], r["detail"], r["graphics"])])


def _unedited(rows, key):
    return np.concatenate([rows[n][key] for n in UNEDITED if n in rows])


def flags(rows, setting):
    """What sorts images into regimes under a setting: the resampling score above its quantile of the
    unedited photos (both classes, every unedited condition), the fine detail below its quantile of them,
    the graphics score above the highest of them (no training photo has graphics drawn over it, so no
    cross-validation could weigh a lower limit: it would only withhold photos) and the shortest "near_full"
    side."""
    return {"resampling_threshold": float(np.quantile(_unedited(rows, "resampling"), setting.quantile)),
            "detail_threshold": float(np.quantile(_unedited(rows, "detail"), setting.detail_quantile)),
            "graphics_threshold": float(np.max(_unedited(rows, "graphics"))),
            "near_full_side": setting.near_full_side}


def _logits(r, inputs):
    """A rows dict's log-odds: the spectral model's (a vector), or with the CNN's too (two columns)."""
    return r["logit"] if inputs == 1 else np.c_[r["logit"], r["cnn_logit"]]


def _calibrate(z, y, inputs):
    """A regime's calibration: its "platt", and with two detectors each one's "own" (for the veto on "real")."""
    if inputs == 1:
        return {"platt": list(platt(z, y))}
    return {"platt": list(platt(z, y)), "own": [list(platt(z[:, i], y)) for i in range(inputs)]}


def fit_rule(rows, setting, withheld=(), inputs=1):
    """rows: {condition: {"y", "logit", "side", "quality", "resampling", "detail", "graphics", "distance", ...}}
    -> the rule for the weights under a Setting, fitted on every condition but the held-out edits; `withheld`:
    (regime, side) pairs that get no threshold ("fake": t_fake, "real": t_real); `inputs` 2: over both
    detectors' log-odds (rows carry "cnn_logit"), where either one leaning "generated" vetoes "real"."""
    rows = _fitted(rows)
    names = list(rows)
    cat = {k: np.concatenate([rows[n][k] for n in names]) for k in ("y", "distance")}
    synthetic = np.concatenate([rows[n].get("synthetic", np.zeros(len(rows[n]["y"]), dtype=bool)) for n in names])
    z_all = np.concatenate([_logits(rows[n], inputs) for n in names])
    cond = np.concatenate([[n] * len(rows[n]["y"]) for n in names])
    flag = flags(rows, setting)
    reg = np.concatenate([_regimes(flag, rows[n]) for n in names])
    photos = np.concatenate([rows[n]["distance"] for n in names if n != SYNTHETIC])
    rule = {"regimes": {}, "max_distance": float(np.quantile(photos, DISTANCE_QUANTILE)),
            **flag, "resampling_quantile": setting.quantile, "detail_quantile": setting.detail_quantile,
            "target": setting.target, "target_real": setting.share("real"), "margin": setting.margin,
            "min_per_class": MIN_PER_CLASS,
            "confidence": CONFIDENCE,
            "withheld": [list(w) for w in withheld]}
    for name in REGIMES:
        m = reg == name
        y, z = cat["y"][m], z_all[m]
        n = [int((y == 0).sum()), int((y == 1).sum())]
        if min(n) < MIN_PER_CLASS:
            neutral = {"platt": [1.0, 0.0]} if inputs == 1 else {"platt": [0.5, 0.5, 0.0], "own": [[1.0, 0.0]] * 2}
            rule["regimes"][name] = {**neutral, "t_fake": None, "t_real": None, "n": n}
            continue
        seen = ~synthetic[m]  # real photos and the seed generator's fakes (see the module), where enough
        enough = min(int((y[seen] == 0).sum()), int((y[seen] == 1).sum())) >= MIN_PER_CLASS
        part = _calibrate(z[seen], y[seen], inputs) if enough else _calibrate(z, y, inputs)
        z_cal, veto = calibration(part, z.T if inputs > 1 else (z,))
        p = sigmoid(z_cal)
        p_real = np.where(veto, 1.0, p)  # what the "real" side sees: a vetoed image is never called real
        reals, fakes = [], []
        for c in names:
            mc = cond[m] == c
            for cls, groups, values in ((0, reals, p), (1, fakes, p_real)):
                sel = mc & (y == cls)
                if sel.sum() >= MIN_PER_CLASS:
                    groups.append(values[sel])
        both = bool(reals and fakes)
        rule["regimes"][name] = {
            **part,
            "t_fake": (_threshold(p, reals, p[y == 1], "fake", setting)
                       if both and (name, "fake") not in withheld else None),
            "t_real": (_threshold(p_real, fakes, p_real[y == 0], "real", setting)
                       if both and (name, "real") not in withheld else None),
            "n": n}
    return rule


def _verdicts(rule, r):
    """-> (verdicts, regimes) of rule rows, as the runtime decides them."""
    cnn = r.get("cnn_logit", np.full(len(r["y"]), np.nan))
    facts = zip(r["logit"], r["side"], r["quality"], r["distance"], r["resampling"], r["detail"], cnn, r["graphics"])
    return (np.array([decide(z, int(s), int(q) or None, dist, rule, None, float(x), float(d), float(c), float(g))[0]
                      for z, s, q, dist, x, d, c, g in facts]),
            _regimes(rule, r))


def _subset(rows, keep):
    return {name: {k: v[keep(r)] for k, v in r.items()} for name, r in rows.items()}


def cross_validated(rows, setting, withheld=(), inputs=1):
    """Each fold's rows judged by the rule fitted on the other folds' rows -> ({condition: metrics},
    {condition: (verdicts, regimes)}), the held-out edits included."""
    folds = np.unique(np.concatenate([r["fold"] for r in rows.values()]))
    verdicts = {name: np.empty(len(r["y"]), dtype=object) for name, r in rows.items()}
    regimes = {name: np.empty(len(r["y"]), dtype=object) for name, r in rows.items()}
    for f in folds:
        rule = fit_rule(_subset(rows, lambda r: r["fold"] != f), setting, withheld, inputs)
        for name, held in _subset(rows, lambda r: r["fold"] == f).items():
            at = rows[name]["fold"] == f
            verdicts[name][at], regimes[name][at] = _verdicts(rule, held)
    metrics = {name: verdict_metrics(r["y"], verdicts[name]) for name, r in rows.items()}
    return metrics, {name: (verdicts[name], regimes[name]) for name in rows}


def failures(rows, metrics):
    """The fitted conditions and classes whose cross-validated confident errors break the promise."""
    out = []
    for name in _fitted(rows):
        m = metrics[name]
        for cls, errors, n in (("real", m["real_called_fake"], m["n_real"]),
                               ("fake", m["fake_called_real"], m["n_fake"])):
            if n and not keeps_promise(errors, n):
                out.append((name, cls))
    return out


def _coverage(metrics, rows):
    """What a choice is ranked by: the mean coverage over the fitted conditions of photos."""
    return float(np.mean([metrics[n]["coverage"] for n in _fitted(rows) if n != SYNTHETIC]))


def choose_rule(rows, inputs=1):
    """-> (Setting, withheld sides, cross-validated metrics): of SETTINGS, the one that keeps the promise and
    decides most; if none does, the strictest, with the sides that broke it withheld (see the module).
    `inputs` 2: the rule over both detectors (fit_rule)."""
    best, tried = None, {}
    for setting in tqdm(SETTINGS, desc="verdict rule", unit="setting", leave=False):
        metrics, _ = cross_validated(rows, setting, (), inputs)
        tried[setting] = metrics
        if not failures(rows, metrics) and (best is None or _coverage(metrics, rows) > _coverage(best[2], rows)):
            best = (setting, (), metrics)
    if best is not None:
        return _sides_apart(rows, best, tried, inputs)
    strictest, withheld = Setting(TARGETS[-1], MARGINS[-1], FLAG_QUANTILES[0], DETAIL_QUANTILES[-1]), []
    while True:
        metrics, judged = cross_validated(rows, strictest, withheld, inputs)
        failed = failures(rows, metrics)
        if not failed:
            return strictest, tuple(withheld), metrics
        withheld.append(_culprit(rows, judged, failed, withheld))


def _sides_apart(rows, best, tried, inputs):
    """The best setting with each side at its own share, where that decides more and keeps the promise.

    A real photo called generated comes only from t_fake, a fake called real only from t_real, so with the
    margin and flags fixed each side's share can be chosen on its own errors: the "generated" side at the
    share that decided most fakes without a real called generated, the "real" side at the one that decided
    most real photos without a fake called real (ties: the stricter share). The combination is judged by
    cross-validation again and kept only if it keeps the promise and decides more."""
    setting = best[0]
    siblings = {s.target: m for s, m in tried.items() if replace(s, target=setting.target) == setting}

    def score(target, coverage):
        m = siblings[target]
        return float(np.nanmean([m[n][coverage] for n in _fitted(rows) if n != SYNTHETIC]))

    def side(cls, coverage):  # the share deciding most, among those with none of class `cls` wrongly decided
        safe = [t for t, m in siblings.items() if not any(c == cls for _, c in failures(rows, m))]
        return max(safe, key=lambda t: (score(t, coverage), -t))

    apart = replace(setting, target=side("real", "coverage_fake"), target_real=side("fake", "coverage_real"))
    if apart.share("fake") == apart.share("real") == setting.target:
        return best
    metrics, _ = cross_validated(rows, apart, (), inputs)
    if failures(rows, metrics) or _coverage(metrics, rows) <= _coverage(best[2], rows):
        return best
    return apart, (), metrics


def _culprit(rows, judged, failed, withheld):
    """The (regime, side) whose threshold made most of the failing confident errors."""
    counts = {}
    for name, cls in failed:
        verdicts, regimes = judged[name]
        wrong = (rows[name]["y"] == (0 if cls == "real" else 1)) & (verdicts == ("fake" if cls == "real" else "real"))
        for reg in regimes[wrong]:
            key = (str(reg), "fake" if cls == "real" else "real")
            counts[key] = counts.get(key, 0) + 1
    candidates = {k: v for k, v in counts.items() if k not in withheld}
    return max(candidates, key=candidates.get)
