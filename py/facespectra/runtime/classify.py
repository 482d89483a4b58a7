"""One file -> one result row. Shared by the CLI and the page's worker.

Never raises for a bad file: the row carries label "error" and the message,
so one broken file in a batch costs only its own row.
"""

import numpy as np

from . import resampling
from .advice import advice
from .errors import InputError
from .inputflags import header_facts, input_flags, lossy_codec
from .facecheck import with_faces
from .spectrum import extract_with_image, fine_detail
from .verdict import decide, decide_band, distance, pixel_regime, regime


def error_row(message):
    """The row of a file that could not be classified."""
    return {"label": "error", "verdict": "error", "p_fake": None, "reason": None, "regime": None, "advice": None,
            "features": None, "flags": [], "faces": [], "error": message}


def judge(features, side, quality, model, codec=None, evidence=None):
    """-> (verdict, p_fake, reason): the weights' fitted rule where they carry one (verdict.py), else the band
    under the same input regimes (a taught or older model has no evidence that traces survive outside "full").
    `evidence` is the picture's resampling score (resampling_score), None where the rule reads none; the
    fine detail the rule reads comes from the features."""
    if model.verdict_rule is None:
        return decide_band(float(model.predict_proba(features)[0, 1]), model.threshold,
                           regime(side, quality, codec), side, quality)
    return decide(float(model.decision_function(features)[0]), side, quality,
                  float(distance(model.standardise(features)[0])), model.verdict_rule, codec, evidence,
                  _detail(features, model))


def read_in(features, side, quality, model, codec=None, evidence=None):
    """The input regime judge() reads an image in: the page's bar shows that regime's zones."""
    if model.verdict_rule is None:
        return regime(side, quality, codec)
    return pixel_regime(side, quality, codec, model.verdict_rule, evidence, _detail(features, model))


def _detail(features, model):
    """The fine detail (spectrum.fine_detail) of one image's features, given as a vector or a 1-row matrix."""
    return float(fine_detail(np.reshape(features, -1), model.config))


def resampling_score(img, model):
    """The picture's evidence of resampling (runtime/resampling.py), where the model's rule reads it."""
    if (model.verdict_rule or {}).get("resampling_threshold") is None:
        return None
    return resampling.score(img if img.mode == "L" else img.convert("L"))


def classify_bytes(data, model):
    """Bytes -> {"label", "verdict", "p_fake", "reason", "features", "flags", "faces", "error"}.

    `verdict` is "real", "fake", or "uncertain" where the evidence is gone or too weak, with `reason` in
    words; `label` is the same answer (a row carries one: the model's raw side of its threshold beside
    "uncertain" read as a verdict); `p_fake` is calibrated, or None when there is no usable number.
    `flags` lists inputflags codes for images outside what the model learnt from. `regime` is the input
    regime its p_fake was read in (a face's, when its faces decide), and `advice` what the person can do
    about a "can't tell" (runtime/advice.py).
    """
    try:
        img, feats = extract_with_image(data, model.config)
    except InputError as exc:
        return error_row(str(exc))
    side, quality = header_facts(data)
    codec = lossy_codec(data)
    score = resampling_score(img, model)
    verdict, p_fake, reason = judge(feats, side, quality, model, codec, score)
    row = {"verdict": verdict, "p_fake": p_fake, "reason": reason,
           "regime": read_in(feats, side, quality, model, codec, score), "features": feats.tolist(),
           "flags": input_flags(side, quality, feats, model), "error": None}

    def judge_face(f, region_side):  # a face region is a crop of the same file: resampled when the picture is
        return (*judge(f, region_side, quality, model, codec, score),
                read_in(f, region_side, quality, model, codec, score))

    row = with_faces(row, img, model, judge_face)
    return {"label": row["verdict"], **row, "advice": advice(row["reason"]) if row["verdict"] == "uncertain" else None}
