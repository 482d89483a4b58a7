"""One file -> one result row. Shared by the CLI and the page's worker.

Never raises for a bad file: the row carries label "error" and the message,
so one broken file in a batch costs only its own row.
"""

from .errors import InputError
from .inputflags import input_flags
from .spectrum import extract


def error_row(message):
    """The row of a file that could not be classified."""
    return {"label": "error", "p_fake": None, "features": None, "flags": [], "error": message}


def classify_bytes(data, model):
    """Bytes -> {"label", "p_fake", "features", "flags", "error"}; label is "real", "fake" or "error".

    `flags` lists inputflags codes for images outside what the model learnt from.
    """
    try:
        feats = extract(data, model.config)
    except InputError as exc:
        return error_row(str(exc))
    p_fake = float(model.predict_proba(feats)[0, 1])
    label = "fake" if p_fake >= model.threshold else "real"
    return {"label": label, "p_fake": p_fake, "features": feats.tolist(),
            "flags": input_flags(data, feats, model), "error": None}
