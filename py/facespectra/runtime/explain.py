"""What the page draws to explain one verdict: per-band contributions and a small 2-D log spectrum.

numpy + Pillow + standard library only: the page runs this module in Pyodide.
"""

import base64

import numpy as np
from PIL import Image

from . import decode
from .spectrum import SECTOR_NAMES, log_spectrum, prepared_gray
from .verdict import BAND, REGIMES

PICTURE_SIDE = 128


def zones(model, rule=None):
    """Each regime's {t_real, t_fake} under `rule` (default: the spectral model's own): where the page's bar
    shows likely real, can't tell and likely generated (None: no such verdict in that regime). A model
    without a fitted rule answers only in "full", outside a band around its threshold (verdict.decide_band)."""
    rule = rule or model.verdict_rule
    if rule is not None:
        none = {"t_real": None, "t_fake": None}  # a regime older weights lack is never read in (verdict.validate)
        return {name: {key: rule["regimes"].get(name, none)[key] for key in ("t_real", "t_fake")}
                for name in REGIMES}
    low, high = model.threshold - BAND, model.threshold + BAND
    band = {"t_real": low if low >= 0 else None, "t_fake": high if high <= 1 else None}
    return {name: band if name == "full" else {"t_real": None, "t_fake": None} for name in REGIMES}


def model_info(model):
    """The static half of every explanation, sent to the page once: bands, labels, references, threshold,
    and each regime's zones for the probability bar.

    "blocks" describes the vector: (kind, scale, angular sector, first index, length) per block; the
    page draws the first block (the full-scale mean profile, on-axis when split) as the spectrum.
    "labels" names each feature beyond its frequency, for the list of bands that weighed most.
    """
    cfg = model.config
    names = SECTOR_NAMES[cfg.angular]
    blocks, labels, start = [], [], 0
    for (kind, scale, sector), (_, n) in zip(cfg.layout(), cfg.block_sizes()):
        blocks.append({"kind": kind, "scale": scale, "sector": sector, "start": start, "length": n})
        start += n
        if kind == "peaks":
            labels += [f"grid peak at {a}/{cfg.grid_peaks}, {b}/{cfg.grid_peaks}" for a, b in cfg.grid_points()]
        else:
            words = [w for w in ("spread" if kind == "std" else "", names[sector],
                                 "image halved" if scale == 2 else "") if w]
            labels += [", ".join(words)] * n
    return {
        "threshold": model.threshold,
        "zones": zones(model),
        # the zones of the rule over both detectors, for rows the CNN gave its opinion on (row["detectors"])
        "zones_both": zones(model, model.cnn.verdict_rule) if model.cnn is not None else None,
        "calibrated": model.verdict_rule is not None,  # p_fake then reads against 0.5
        "frequencies": cfg.frequencies().tolist(),
        "blocks": blocks,
        "labels": labels,
        "reference": {k: list(v) for k, v in model.reference.items()},
    }


def contributions(features, model):
    """coefficient × standardised feature: how far each band pushed the log-odds towards "fake"."""
    return (model.standardise(features)[0] * model.coef).tolist()


def spectrum_picture(data, model, side=PICTURE_SIDE):
    """The image's centred log-magnitude spectrum as side×side 8-bit gray, base64 (row-major).

    Same crop and window as the features; block-averaged down so it travels as a few kB.
    """
    cfg = model.config
    spec = log_spectrum(prepared_gray(decode.load(data, gray=cfg.gray), cfg), cfg)
    small = np.asarray(Image.fromarray(spec.astype(np.float32), "F").resize((side, side), Image.BOX))
    lo, hi = np.percentile(small, [1, 99.8])
    pixels = np.clip((small - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
    return base64.b64encode(pixels.tobytes()).decode("ascii")


def explain_bytes(data, features, model):
    return {"contributions": contributions(features, model), "picture": spectrum_picture(data, model),
            "side": PICTURE_SIDE}
