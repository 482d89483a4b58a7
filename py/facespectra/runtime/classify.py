"""One file -> one result row. Shared by the CLI and the page's worker.

Never raises for a bad file: the row carries label "error" and the message,
so one broken file in a batch costs only its own row.
"""

from .errors import InputError
from .inputflags import header_facts, input_flags, lossy_codec
from .facecheck import with_faces
from .spectrum import extract_with_image
from .verdict import decide, decide_band, distance


def error_row(message):
    """The row of a file that could not be classified."""
    return {"label": "error", "verdict": "error", "p_fake": None, "reason": None, "features": None, "flags": [],
            "faces": [], "error": message}


def judge(features, side, quality, model, codec=None):
    """-> (verdict, p_fake, reason): the weights' fitted rule where they carry one (verdict.py), else the band."""
    if model.verdict_rule is None:
        return decide_band(float(model.predict_proba(features)[0, 1]), model.threshold)
    return decide(float(model.decision_function(features)[0]), side, quality,
                  float(distance(model.standardise(features)[0])), model.verdict_rule, codec)


def classify_bytes(data, model):
    """Bytes -> {"label", "verdict", "p_fake", "reason", "features", "flags", "error"}.

    `label` is the model's side of its threshold ("real", "fake" or "error"); `verdict` adds
    "uncertain" where the evidence is gone or too weak, with `reason` in words; `p_fake` is calibrated.
    `flags` lists inputflags codes for images outside what the model learnt from.
    """
    try:
        img, feats = extract_with_image(data, model.config)
    except InputError as exc:
        return error_row(str(exc))
    side, quality = header_facts(data)
    codec = lossy_codec(data)
    verdict, p_fake, reason = judge(feats, side, quality, model, codec)
    label = "fake" if float(model.predict_proba(feats)[0, 1]) >= model.threshold else "real"
    row = {"label": label, "verdict": verdict, "p_fake": p_fake, "reason": reason, "features": feats.tolist(),
           "flags": input_flags(side, quality, feats, model), "error": None}
    return with_faces(row, img, model, lambda f, region_side: judge(f, region_side, quality, model, codec))
