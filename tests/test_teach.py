"""Issue 19: teach a model on one's own examples, in CPython here and in the page (browser test below).

The fakes come from a random stride-3 transposed convolution written here: no up-sampler the shipped
model was trained on works at 1/3-cycle steps, so the shipped model gets these wrong and a taught one
must learn them from the examples.
"""

import json

import numpy as np
import pytest
from PIL import Image

from conftest import encode, texture
from facespectra.runtime import fit, worker_api
from facespectra.runtime.model import SpectralModel
from facespectra.runtime.teach import MIN_PER_CLASS, RESAVES, folds_of
from facespectra.train import logistic

SIDE = 384


def transposed_upsampler(img, seed, stride=3):
    """A generator's last layer: a stride-3 transposed convolution with random 6x6 kernels mixing channels."""
    rng = np.random.default_rng(seed)
    x = np.asarray(img, dtype=np.float64) / 255.0
    h, w, c = x.shape
    t = 2 * stride
    k = rng.normal(0, 1, (t, t, c, c)) / t + np.eye(c)[None, None] / stride
    out = np.zeros((stride * h + t, stride * w + t, c))
    for i in range(t):
        for j in range(t):
            out[i:i + stride * h:stride, j:j + stride * w:stride] += x @ k[i, j]
    out = out[stride:stride + stride * h, stride:stride + stride * w]
    out = (out - out.min()) / (np.ptp(out) + 1e-9) * 235 + 10
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")


def examples(n, seed=0):
    """n photo-like textures and n generated ones, as JPEGs of similar qualities -> (real, fake) byte lists."""
    rng = np.random.default_rng(seed)
    quality = lambda: int(rng.integers(80, 96))  # noqa: E731
    real = [encode(texture(SIDE, seed=1000 + 100 * seed + i), "JPEG", quality=quality()) for i in range(n)]
    fake = [encode(transposed_upsampler(texture(SIDE // 3, seed=2000 + 100 * seed + i), seed=7), "JPEG",
                   quality=quality()) for i in range(n)]
    return real, fake


@pytest.fixture(scope="module")
def shipped():
    from facespectra.api import SHIPPED_WEIGHTS

    return SpectralModel.load(SHIPPED_WEIGHTS)


def labelled(model, real, fake):
    out = []
    for label, files in ((0, real), (1, fake)):
        out += [{**worker_api.features(data, model), "label": label} for data in files]
    return out


def test_trainer_and_page_share_one_solver():
    assert logistic.LogisticRegression is fit.LogisticRegression
    assert logistic.objective is fit.objective


def test_features_are_the_file_and_its_resaves_fixed_by_content(shipped, jpeg_bytes):
    got = worker_api.features(jpeg_bytes, shipped)
    assert len(got["features"]) == 1 + RESAVES and len(set(got["qualities"])) == RESAVES
    assert got["features"][0] == worker_api.check(jpeg_bytes, shipped)["features"]  # the file as given
    assert worker_api.features(jpeg_bytes, shipped) == got
    assert worker_api.features(b"hello", shipped)["error"].startswith("not an image")


def test_taught_model_learns_a_new_upsampler_and_reports_its_cv_estimate(shipped):
    real, fake = examples(20)
    out = worker_api.fit(labelled(shipped, real, fake), when="2026-11-30T04:00:00+00:00", model=shipped)
    report = out["report"]
    assert report["accuracy"] >= 0.9 and report["per_class"]["real"]["n"] == 20
    assert report["confident_errors"] == [] and report["l2"] in [s["l2"] for s in report["l2_search"]]
    taught = SpectralModel.loads(out["weights"])  # a valid weights file of the shipped format
    assert taught.config == shipped.config and taught.threshold == 0.5
    assert taught.provenance["n_images"] == 40 and "browser" in taught.provenance["trained"]
    assert taught.provenance["when"] == "2026-11-30T04:00:00+00:00"
    new_real, new_fake = examples(4, seed=5)
    p_real = [worker_api.check(b, taught)["p_fake"] for b in new_real]
    p_fake = [worker_api.check(b, taught)["p_fake"] for b in new_fake]
    assert max(p_real) < 0.5 < min(p_fake)
    # the point of teaching: the shipped model does not know these images
    shipped_wrong = sum((worker_api.check(b, shipped)["label"] == "fake") != bool(label)
                        for label, files in ((0, new_real), (1, new_fake)) for b in files)
    assert shipped_wrong >= 2


def test_few_and_one_sided_examples_are_warned_about_or_refused(shipped):
    real, fake = examples(12)
    few = worker_api.fit(labelled(shipped, real[:12], fake[:MIN_PER_CLASS]), model=shipped)
    warnings = " ".join(few["report"]["warnings"])
    assert "Few examples (12 real, 4 generated)" in warnings and "one-sided" in warnings
    refused = worker_api.fit(labelled(shipped, real[:5], fake[:MIN_PER_CLASS - 1]), model=shipped)
    assert refused == {"error": f"Teaching needs at least {MIN_PER_CLASS} readable examples of each kind; "
                                f"there are 5 real and {MIN_PER_CLASS - 1} generated."}


def test_folds_spread_each_class_evenly():
    labels = [0] * 13 + [1] * 7
    folds = folds_of(labels, 5)
    for c in (0, 1):
        counts = np.bincount(folds[np.array(labels) == c], minlength=5)
        assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("mutate, message", [
    (lambda d: "{not json", "not valid JSON"),
    (lambda d: json.dumps({**d, "version": 99}), "version 99 is not supported"),
    (lambda d: json.dumps({**d, "coef": d["coef"][:-1]}), "coef has"),
])
def test_a_bad_weights_file_keeps_the_model_in_use(shipped, mutate, message):
    worker_api.load_model(json.dumps(shipped.to_dict()))
    before = worker_api._current
    answer = json.loads(worker_api.load_model_json(mutate(shipped.to_dict())))
    assert message in answer["error"] and worker_api._current is before
