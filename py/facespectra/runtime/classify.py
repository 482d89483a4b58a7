"""One file -> one result row. Shared by the CLI and the page's worker.

Never raises for a bad file: the row carries label "error" and the message,
so one broken file in a batch costs only its own row.
"""

import math

import numpy as np

from . import graphics, resampling
from .advice import advice
from .cnn import opinion
from .errors import InputError
from .inputflags import header_facts, input_flags, lossy_codec
from .facecheck import with_faces
from .spectrum import extract_with_image, fine_detail
from .verdict import decide, decide_band, distance, pixel_regime, regime, sigmoid


def error_row(message):
    """The row of a file that could not be classified."""
    return {"label": "error", "verdict": "error", "p_fake": None, "reason": None, "regime": None, "advice": None,
            "detectors": None, "opinions": {"spectral": None, "cnn": None},
            "features": None, "flags": [], "faces": [], "error": message}


def detectors(model, cnn_logit=None):
    """Which rule judges a row: "both" (the spectral model and the CNN) where the weights carry the CNN's head
    and the network gave its opinion (`cnn_logit`), else "spectral" (the CNN absent)."""
    return "both" if model.cnn is not None and cnn_logit is not None else "spectral"


def rule_in_use(model, cnn_logit=None):
    """The fitted rule an image is judged by (see detectors(); None: a taught or older model)."""
    return model.cnn.verdict_rule if detectors(model, cnn_logit) == "both" else model.verdict_rule


def judge(features, side, quality, model, codec=None, evidence=None, cnn_logit=None, drawn=None):
    """-> (verdict, p_fake, reason, regime): the weights' fitted rule where they carry one (verdict.py), else the
    band under the same input regimes (a taught or older model has no evidence that traces survive outside
    "full"); `regime` is the input regime the image was read in, whose zones the page's bar shows.
    `evidence` is the picture's resampling score (resampling_score), None where the rule reads none; the
    fine detail the rule reads comes from the features; `cnn_logit` is the CNN's opinion (cnn.opinion) or None;
    `drawn` the graphics score (graphics_score) of what was read: the picture, or a face's region."""
    rule = rule_in_use(model, cnn_logit)
    if rule is None:
        name = regime(side, quality, codec)
        return (*decide_band(float(model.predict_proba(features)[0, 1]), model.threshold, name, side, quality), name)
    detail = _detail(features, model)
    return (*decide(float(model.decision_function(features)[0]), side, quality,
                    float(distance(model.standardise(features)[0])), rule, codec, evidence, detail, cnn_logit, drawn),
            pixel_regime(side, quality, codec, rule, evidence, detail, drawn))


def opinions(features, model, regime_name, cnn_logit=None):
    """Each detector's own calibrated p_fake in the regime the image was read in, for the "Why?" panel:
    {"spectral": p, "cnn": p or None (no network yet, or weights without one)}."""
    out = {"spectral": None, "cnn": None}
    rule = rule_in_use(model, cnn_logit)
    if rule is None or regime_name is None:
        return out
    part = rule["regimes"][regime_name]
    for name, (a, b), z in zip(out, part.get("own") or [part["platt"]],
                               (float(model.decision_function(features)[0]), cnn_logit)):
        if z is not None and math.isfinite(a * z + b):
            out[name] = float(sigmoid(a * z + b))
    return out


def _detail(features, model):
    """The fine detail (spectrum.fine_detail) of one image's features, given as a vector or a 1-row matrix."""
    return float(fine_detail(np.reshape(features, -1), model.config))


def _read_by_rules(model, key):
    """Whether any of the model's rules (the spectral one, the one over both detectors) has the flag `key`."""
    rules = [model.verdict_rule or {}] + ([model.cnn.verdict_rule] if model.cnn is not None else [])
    return any(r.get(key) is not None for r in rules)


def resampling_score(img, model):
    """The picture's evidence of resampling (runtime/resampling.py), where the model's rules read it."""
    if not _read_by_rules(model, "resampling_threshold"):
        return None
    return resampling.score(img if img.mode == "L" else img.convert("L"))


def graphics_score(img, model):
    """The graphics drawn over an image, a picture or a face's region (runtime/graphics.py), where the model's
    rules read them."""
    return graphics.score(img) if _read_by_rules(model, "graphics_threshold") else None


def classify_bytes(data, model):
    """Bytes -> {"label", "verdict", "p_fake", "reason", "features", "flags", "faces", "error"}.

    `verdict` is "real", "fake", or "uncertain" where the evidence is gone or too weak, with `reason` in
    words; `label` is the same answer (a row carries one: the model's raw side of its threshold beside
    "uncertain" read as a verdict); `p_fake` is calibrated, or None when there is no usable number.
    `flags` lists inputflags codes for images outside what the model learnt from. `regime` is the input
    regime its p_fake was read in (a face's, when its faces decide), and `advice` what the person can do
    about a "can't tell" (runtime/advice.py). `detectors` says which rule judged it ("both": the spectral
    model and the CNN; "spectral": the network is not there), `opinions` each detector's own p_fake.
    """
    try:
        img, feats = extract_with_image(data, model.config)
    except InputError as exc:
        return error_row(str(exc))
    side, quality = header_facts(data)
    codec = lossy_codec(data)
    score, drawn = resampling_score(img, model), graphics_score(img, model)
    z_cnn = opinion(img, model.cnn)
    verdict, p_fake, reason, name = judge(feats, side, quality, model, codec, score, z_cnn, drawn)
    row = {"verdict": verdict, "p_fake": p_fake, "reason": reason, "regime": name,
           "detectors": detectors(model, z_cnn), "opinions": opinions(feats, model, name, z_cnn),
           "features": feats.tolist(),
           "flags": input_flags(side, quality, feats, model), "error": None}

    # a crop of the same file, resampled when the picture is; graphics are its own (a caption elsewhere is no matter)
    def judge_face(f, region_side, region):
        z = opinion(region, model.cnn)
        verdict, p_fake, reason, name = judge(f, region_side, quality, model, codec, score, z,
                                              graphics_score(region, model))
        return verdict, p_fake, reason, name, opinions(f, model, name, z)

    row = with_faces(row, img, model, judge_face)
    return {"label": row["verdict"], **row, "advice": advice(row["reason"]) if row["verdict"] == "uncertain" else None}
