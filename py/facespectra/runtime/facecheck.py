"""Per-face checks: which faces the whole-image verdict covers, and the face regions checked on their own.

The model learnt aligned portraits, where the face fills the frame. When a face fills the frame so, the
whole-image verdict stands. Faces that are a small part of the picture are each cut out at full
resolution as an aligned portrait would frame them (the region measured on the 450 seed portraits: the
detector's box is 0.60 of the portrait's side, centred 0.19 box-sides below the portrait's centre) and
go through the same extractor and model. With no face found, the verdict is withheld: the detector finds
every one of the 450 seed portraits (tests/test_faces.py measures it), so "no face" is rarely a miss.
numpy + Pillow + standard library only: the page runs this module in Pyodide.
"""

import numpy as np

from .decode import MIN_SIDE
from .faces import FILL, find_faces
from .spectrum import features_from_image

BOX_SHARE = 0.60  # detector box side / aligned portrait side (median over the seed portraits)
BOX_DROP = 0.19  # box centre below the portrait centre, in box sides (median over the seed portraits)
NO_FACE = "no face found"
FACE_TOO_SMALL = "face too small"
NO_SPECTRUM = "face region has no usable spectrum"


def fills_frame(face, size):
    """Whether a face is as large in its picture as in the training portraits."""
    x0, y0, x1, y1 = face["box"]
    return min(x1 - x0, y1 - y0) >= FILL * min(size)


def portrait_region(box, size):
    """The square an aligned portrait would make around a face box, moved inside the picture
    (and no larger than its shorter side) -> (left, top, side) in whole pixels."""
    w, h = size
    x0, y0, x1, y1 = box
    bside = max(x1 - x0, y1 - y0)
    side = min(int(round(bside / BOX_SHARE)), w, h)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - BOX_DROP * bside
    left = int(np.clip(round(cx - side / 2), 0, w - side))
    top = int(np.clip(round(cy - side / 2), 0, h - side))
    return left, top, side


def check_face(img, face, model, judge):
    """One face region's own verdict: {"verdict", "p_fake", "reason", "regime", "region"} added to a copy of
    `face`.

    `judge(features, side)` -> (verdict, p_fake, reason, regime) is the caller's rule for a whole image, applied
    to the region as if it were one.
    """
    left, top, side = portrait_region(face["box"], img.size)
    out = {**face, "region": [left, top, left + side, top + side]}
    if side < MIN_SIDE:
        return {**out, "verdict": "uncertain", "p_fake": None, "reason": f"{FACE_TOO_SMALL} ({side} px)",
                "regime": None}
    feats = features_from_image(img.crop((left, top, left + side, top + side)), model.config)
    if not np.all(np.isfinite(feats)):
        return {**out, "verdict": "uncertain", "p_fake": None, "reason": NO_SPECTRUM, "regime": None}
    verdict, p_fake, reason, name = judge(feats, side)
    return {**out, "verdict": verdict, "p_fake": p_fake, "reason": reason, "regime": name}


def with_faces(row, img, model, judge):
    """The row of a classified picture with its "faces", and its verdict as the faces decide it:

    - a face fills the frame: the whole-image verdict stands (smaller faces still get their own);
    - faces, none filling the frame: each is checked on its own, and the picture's verdict is the most
      telling of theirs: "fake" if any face is, else "uncertain" if any face is, else "real"; its p_fake
      is the highest of the faces';
    - no face: verdict "uncertain", reason "no face found" (p_fake stays the whole image's), whatever
      other reason the picture had: without a face there is nothing the model learnt to judge.
    """
    found = find_faces(img)
    framed = any(fills_frame(f, img.size) for f in found)
    faces = [f if fills_frame(f, img.size) else check_face(img, f, model, judge) for f in found]
    row = {**row, "faces": faces}
    if not faces:
        return {**row, "verdict": "uncertain", "reason": NO_FACE}
    if framed:
        return row
    return {**row, **_summary(faces)}


def _summary(faces):
    """The picture's verdict from its faces' own verdicts (see with_faces)."""
    for wanted in ("fake", "uncertain", "real"):
        hits = [i for i, f in enumerate(faces) if f["verdict"] == wanted]
        if hits:
            break
    scored = [f for f in faces if f["p_fake"] is not None]  # the picture's p_fake: the highest, in its face's regime
    top = max(scored, key=lambda f: f["p_fake"]) if scored else {"p_fake": None, "regime": None}
    n = len(faces)
    first = faces[hits[0]]
    if wanted == "real":
        reason = None
    elif wanted == "fake":
        reason = f"face {hits[0] + 1} of {n} looks generated" if n > 1 else None
    else:
        reason = f"face {hits[0] + 1} of {n}: {first['reason']}" if n > 1 else first["reason"]
    return {"verdict": wanted, "p_fake": top["p_fake"], "regime": top["regime"], "reason": reason}
