"""The only Python functions web/worker.js calls, so the glue between JavaScript and the runtime exists
once: the CLI, the Python API and scripts/runtime_probe.py call these same functions.

The second detector's weights (effnet.npz, for runtime/effnet.py) are not in the runtime zip: the worker
fetches them once it is ready and warm, and hands them over with `load_network`, then `warm_up_network`;
until then checks are judged by the spectral model alone (a row's "detectors").

The worker holds one model at a time (`load_model` replaces it). The page swaps models in two phases so
that all its workers switch together or none does: each worker prepares the new model beside the one in
use (`prepare_model`: checked, its info made, warmed up), and only when every worker has, each commits
(`commit_model`); otherwise each drops it (`abort_model`). The `*_json` twins are what crosses into
JavaScript, where JSON keeps None as null and costs less than converting proxies.
"""

import hashlib
import io
import json
import os

from PIL import Image

from . import csvrows, effnet
from .classify import classify_bytes
from .decode import MAX_BYTES
from .errors import InputError, WeightsError
from .explain import explain_bytes, model_info
from .faces import COARSE as FACES_COARSE, find_faces
from .inputflags import MESSAGES
from .model import SpectralModel
from .spectrum import features_from_image
from .teach import TeachError, example_features, teach

_current = None
_prepared = None  # a swap's model, between prepare_model and commit_model or abort_model


def _bytes(data):
    """Python bytes from bytes-like data or a JavaScript Uint8Array (a JsProxy with to_bytes)."""
    to_bytes = getattr(data, "to_bytes", None)
    return to_bytes() if callable(to_bytes) else bytes(data)


def load_model(weights_text):
    """Parse a weights file's text (WeightsError if unusable) and make it the worker's model."""
    global _current
    _current = SpectralModel.loads(weights_text)
    return _current


def info(model=None):
    """What the page needs once per model: bands, labels, references, threshold, flag messages, the
    CSV's columns and formula characters (the page's export follows the CLI's rules, csvrows.py), and
    the byte limit, which the page checks from a file's size before reading it, as the CLI does."""
    return {**model_info(model or _current), "flag_messages": MESSAGES,
            "csv": {"columns": list(csvrows.COLUMNS), "formula_start": csvrows.FORMULA_START},
            "max_bytes": MAX_BYTES}


def check(data, model=None):
    """One file's bytes -> its result row (never raises for a bad file; see classify.classify_bytes)."""
    return classify_bytes(_bytes(data), model or _current)


def explain(data, features, model=None):
    """What the page draws to explain a result row's verdict."""
    return explain_bytes(_bytes(data), features, model or _current)


WARM_UP_SIDE = 1024  # the centre square the extractor takes of any photo at least this large
WARM_UP_FILE_SIDE = 128  # a small file: decoding, Pillow's plugins and the whole check (one face look)


def _noise(side):
    """A gray noise picture (Pillow's noise at 128 px, enlarged: cheaper than noise at 1024 px)."""
    small = Image.effect_noise((WARM_UP_FILE_SIDE, WARM_UP_FILE_SIDE), 40)
    return small if side == WARM_UP_FILE_SIDE else small.resize((side, side), Image.BILINEAR)


def _warm_up_faces(model):
    """The face network loaded and one coarse look taken (its first call compiles most of its code)."""
    find_faces(_noise(FACES_COARSE))


def _warm_up_file(model):
    """A small noise JPEG checked: Pillow's plugins, the decoder, the whole check."""
    buf = io.BytesIO()
    _noise(WARM_UP_FILE_SIDE).convert("RGB").save(buf, "JPEG", quality=90)
    check(buf.getvalue(), model)


def _warm_up_tables(model):
    """A 1024² picture's features: the extractor's 1024-px tables. (It is never encoded: making and
    encoding a 1024² noise JPEG took 90 ms in Pyodide, longer than what it warmed.)"""
    features_from_image(_noise(WARM_UP_SIDE), model.config)


# The finer face look at full size is left out: a step of 0.13 s that a file dropped meanwhile would wait
# for, needed only by pictures without a frame-filling face, whose first costs what the next do without it
# (Pyodide under Node: 170 and 169 ms).
WARM_UP_STEPS = (_warm_up_faces, _warm_up_file, _warm_up_tables)


def warm_up(step, model=None):
    """Warm-up step `step` after loading (its rows are dropped) -> whether another step follows.

    A cold interpreter's first check costs about three later ones (first imports, tables, WebAssembly
    compiled on first call), so the worker runs these while no visitor waits. They are steps (about
    0.06 s each in Pyodide) so that a file dropped meanwhile waits for one step at most, and the worker
    stops warming up once a file arrives: that file warms up what it needs itself."""
    WARM_UP_STEPS[step](model or _current)
    return step + 1 < len(WARM_UP_STEPS)


def load_network(data, sha256):
    """The CNN's weights as the page fetched them (effnet.npz) -> None once they are where effnet.WEIGHTS
    points and loaded, so that from then on checks get the CNN's opinion; or why they were refused, with
    nothing written: a sha256 other than this build's (checked as the snapshot is: a half-deployed site could
    send another build's file). Written whole, then renamed: effnet.available() never sees part of it."""
    data = _bytes(data)
    if hashlib.sha256(data).hexdigest() != sha256:
        return f"{effnet.WEIGHTS.name} is not this build's (the site may be being updated): reload the page later"
    part = effnet.WEIGHTS.with_name(effnet.WEIGHTS.name + ".part")
    part.write_bytes(data)
    os.replace(part, effnet.WEIGHTS)
    effnet.network()
    return None


def warm_up_network():
    """One pass of the CNN (about 0.2 s in Pyodide; its first call compiles most of its code, as the face
    network's warm-up does), so the first file it judges costs what the next ones do."""
    effnet.features(_noise(effnet.SIZE))


def info_json():
    return json.dumps(info())


def check_json(data):
    return json.dumps(check(data))


def explain_json(data, features_json):
    return json.dumps(explain(data, json.loads(features_json)))


def prepare_model(weights_text):
    """Phase one of a swap: the new model checked and made ready beside the one in use -> its info.

    Raises WeightsError for a file the weights check refuses, or whatever its info or warm-up raises;
    either way the model in use is untouched, and nothing is kept."""
    global _prepared
    _prepared = None
    model = SpectralModel.loads(weights_text)
    answer = info(model)
    for step in range(len(WARM_UP_STEPS)):
        warm_up(step, model)
    _prepared = model
    return answer


def commit_model():
    """Phase two: the prepared model becomes the worker's model."""
    global _current, _prepared
    if _prepared is None:
        raise RuntimeError("no model was prepared")
    _current, _prepared = _prepared, None


def abort_model():
    """The swap is off (another worker could not prepare): the prepared model is dropped."""
    global _prepared
    _prepared = None


def prepare_model_json(weights_text):
    """Like prepare_model, for the page: the new model's info, or {"error"} with the weights check's
    message (or the failure's) when it cannot be used."""
    try:
        return json.dumps(prepare_model(weights_text))
    except WeightsError as exc:
        return json.dumps({"error": str(exc)})
    except Exception as exc:  # a file that validates but fails to prepare is refused the same way
        return json.dumps({"error": f"weights: the model cannot be prepared ({type(exc).__name__}: {exc})"})


def features(data, model=None):
    """One teaching example's bytes -> its feature rows (as given, then JPEG re-saves) in the model's
    feature config, or {"error"} for a file that is not a usable image."""
    try:
        return example_features(_bytes(data), (model or _current).config)
    except InputError as exc:
        return {"error": str(exc)}


def fit(examples, when=None, model=None):
    """Examples as `features` gave them, each with its "label" -> {"weights": the taught model's weights
    file text, "report": the cross-validated estimate}, or {"error"}. The model in use does not change."""
    try:
        taught, report = teach(examples, (model or _current).config, when=when)
    except TeachError as exc:
        return {"error": str(exc)}
    return {"weights": json.dumps(taught.to_dict(), indent=1), "report": report}


def features_json(data):
    return json.dumps(features(data))


def fit_json(payload_json):
    payload = json.loads(payload_json)
    return json.dumps(fit(payload["examples"], payload.get("when")))
