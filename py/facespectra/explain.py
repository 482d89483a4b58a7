"""What the page draws to explain one verdict: per-band contributions and a small 2-D log spectrum.

numpy + Pillow + standard library only: the page runs this module in Pyodide.
"""

import base64

import numpy as np
from PIL import Image

from . import decode
from .spectrum import log_spectrum, prepared_gray

PICTURE_SIDE = 128


def model_info(model):
    """The static half of every explanation, sent to the page once: bands, references, threshold."""
    return {
        "threshold": model.threshold,
        "frequencies": model.config.frequencies().tolist(),
        "sectors": model.config.n_sectors,
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
