"""What a person can do about each "can't tell", in plain words: kept once, for the page, the CSV, the CLI
and the API.

A reason stays where it is made (verdict.REASONS, facecheck); its kind is read back from its fixed
opening words, so this table adds advice without a second copy of any reason.
Standard library only: the page runs this module in Pyodide.
"""

import re

from . import facecheck, verdict

ADVICE = {
    "small": "Find a larger copy: the original file, not a thumbnail or a preview.",
    "near_full": "Find the original, full-size file (as the camera or the generator saved it), not a copy "
                 "resized for the web or a message.",
    "reduced": "Find the original, full-size file (as the camera or the generator saved it), not a copy "
               "resized for the web or a message.",
    "heavy": "Find a less compressed copy: the original file, not one re-saved or sent through a messaging app.",
    "webp": "Find the original JPEG or PNG file.",
    "graphics": "Find the photo without the caption, text, label or sticker drawn over it: the original file.",
    "smoothed": "Find a sharper copy: the original file, before any beauty filter, blur or smoothing.",
    "resampled": "Find the original file as the camera or the generator saved it, not a copy that was cropped, "
                 "resized, rotated or straightened.",
    "unlike": "The model knows face portraits like those it learnt from; this picture is unlike them, so treat "
              "the answer as unknown.",
    "close": "No action will make this more certain: treat it as unknown.",
    "disagree": "Treat it as unknown: one detector leans towards a generated face, so neither vouches for a real one.",
    "no_traces": "Treat it as unknown: this model can find a generator's traces, but cannot vouch for a real "
                 "photo.",
    "no_face": "Use a photo where a face is clearly visible: the model judges faces.",
    "face_small": "Use a photo where the face is larger: closer up, or the original at full size.",
    "no_spectrum": "Use another photo of the face: this region has too little detail to read.",
    "no_number": "Treat it as unknown. If another model is in use, go back to the shipped one.",
}

_FACE_OF = re.compile(r"face \d+ of \d+: ")  # facecheck's summary names the face that decided


def _openings():
    """(fixed opening words, kind) of every reason, longest first so no opening hides a longer one."""
    pairs = [(template.split("{")[0], kind) for kind, template in verdict.REASONS.items()]
    pairs += [(facecheck.NO_FACE, "no_face"), (facecheck.FACE_TOO_SMALL, "face_small"),
              (facecheck.NO_SPECTRUM, "no_spectrum"), (verdict.NO_NUMBER, "no_number")]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def kind(reason):
    """The kind (a key of ADVICE) of a "can't tell" reason, or None for no reason or an unknown one."""
    if not reason:
        return None
    reason = _FACE_OF.sub("", reason, count=1)
    return next((k for opening, k in _openings() if reason.startswith(opening)), None)


def advice(reason):
    """What the person can do about this reason, or None."""
    return ADVICE.get(kind(reason))
