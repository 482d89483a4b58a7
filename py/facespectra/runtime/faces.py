"""Where the faces are: MediaPipe BlazeFace (short range) run in numpy, the same code in Pyodide and CPython.

The network's weights are runtime/blazeface.npz, made at set-up by scripts/blazeface.py from a pinned npm
package. It was trained on 128×128 pictures and finds faces of about 20 to 128 px there, so faces are
looked for on downscaled copies: the whole picture with its longer side at 128 px and, unless a face
fills the frame, at 384 px (the network is fully convolutional, so a larger copy costs no tiling) for
faces down to about a twentieth of the longer side, as in group photos. Everything runs in float64:
the two runtimes' matrix products then agree far below the 1e-6 the browser test asks of boxes and
scores. The input is the
decoder's luma in all three channels, as JPEG luma is what both runtimes decode identically (their
colour upsampling differs).
numpy + Pillow + standard library only: the page runs this module in Pyodide.
"""

import json
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

WEIGHTS = Path(__file__).with_name("blazeface.npz")
MIN_SCORE = 0.6  # seed faces: all 450 found (lowest 0.67); textures: none above 0.56 (tests/test_faces.py)
NMS_IOU = 0.3  # overlapping detections are blended, weighted by score (as MediaPipe does)
# The longer side of the two downscaled copies looked at. The finer one at 384 px finds faces down to about
# a twentieth of the longer side (a group photo's; at 256 px, a twelfth; scripts/face_recall.py measures
# recall by face size) for 2.3 times the cost of one at 256 px.
COARSE, FINE = 128, 384
PAD = 128  # mid gray around a downscaled copy (0 after the network's scaling to [-1, 1])
KEPT_SIZES = 2  # input sizes whose buffer pools the network keeps between calls (coarse and fine look)
FILL = 0.3  # a face box at least this share of the shorter side fills the frame as the training portraits


class FaceDetectorMissing(RuntimeError):
    """The converted weights are not there: set-up (scripts/blazeface.py) was not run."""


class _Network:
    """The converted layer program (convolutions with their skip and ReLU folded in) over NHWC float64.

    In WebAssembly allocating a large array (and np.pad) costs more than the arithmetic on it, so layers
    write in place into buffers from a pool kept between calls (per input size and thread); a layer's
    output goes back to the pool after its last reader, which keeps the pool near the few arrays alive
    at once.
    """

    def __init__(self, path):
        try:
            z = np.load(path)
        except FileNotFoundError:
            raise FaceDetectorMissing(f"{path.name} is missing: run `make setup` (scripts/blazeface.py)") from None
        with z:
            meta = json.loads(str(z["meta"]))
            self.weights = {k: z[k].astype(np.float64) for k in z.files if k != "meta"}
        self.program = meta["program"]
        self.source = meta["source"]
        first = self.program[0]
        if first["op"] != "conv" or first["kind"] != "full" or first["in"] != "input":
            raise FaceDetectorMissing(f"{path.name} does not start with a full convolution; re-run set-up")
        # The input is gray (three equal channels), so the first convolution's weights are summed over them.
        k = first["k"]
        w = self.weights[first["w"]]
        self.weights[first["w"]] = w.reshape(k * k, -1, w.shape[1]).sum(axis=1)
        self.last_reader = {}
        for n, step in enumerate(self.program):
            for name in (step["in"], step.get("skip")):
                if name is not None:
                    self.last_reader[name] = n
        self._local = threading.local()

    def _pool(self, shape):
        """This thread's pool for inputs of `shape` (a few sizes kept: the two looks of find_faces)."""
        pools = getattr(self._local, "pools", None)
        if pools is None:
            pools = self._local.pools = {}
        if shape not in pools:
            if len(pools) >= KEPT_SIZES:
                del pools[next(iter(pools))]
            pools[shape] = _Pool()
        return pools[shape]

    def __call__(self, gray):
        """(N, H, W, 1) in [-1, 1] -> the four output arrays by name."""
        pool = self._pool(gray.shape)
        t = {"input": gray}
        out = {}
        for n, s in enumerate(self.program):
            if s["op"] == "conv":
                y = _conv(t[s["in"]], s, self.weights, pool)
                if s["skip"] is not None:
                    skip = t[s["skip"]]
                    y[..., :skip.shape[3]] += skip  # the skip's missing channels are zeros
                if s["relu"]:
                    np.maximum(y, 0.0, out=y)
                t[s["out"]] = y
            elif s["op"] == "maxpool2":
                v = t[s["in"]]
                y = t[s["out"]] = pool.take((v.shape[0], v.shape[1] // 2, v.shape[2] // 2, v.shape[3]))
                np.maximum(v[:, 0::2, 0::2], v[:, 0::2, 1::2], out=y)
                np.maximum(y, v[:, 1::2, 0::2], out=y)
                np.maximum(y, v[:, 1::2, 1::2], out=y)
            else:  # output: a copy, as its buffer goes back to the pool
                v = t[s["in"]]
                out[s["out"]] = v.reshape(v.shape[0], -1, s["per_anchor"]).copy()
            for name in (s["in"], s.get("skip")):
                if name != "input" and self.last_reader.get(name) == n:
                    pool.give(t.pop(name))
        return out


class _Pool:
    """Flat float64 buffers lent out as arrays of any shape that fits (the smallest free one that does),
    and given back; their contents are whatever the last user left."""

    def __init__(self):
        self.free = []
        self.lent = {}
        self.rows = {}

    def row_weights(self, name, w, width):
        """Depthwise weights (k, k, c) repeated along an output row of `width` pixels, kept with the pool
        (its input size fixes each layer's width): a tap times these is one inner loop per row rather than
        one per pixel of c values, which halves a depthwise convolution's time in Pyodide."""
        if name not in self.rows:
            self.rows[name] = np.ascontiguousarray(np.broadcast_to(w[:, :, None, :], (*w.shape[:2], width, w.shape[2])))
        return self.rows[name]

    def take(self, shape):
        size = int(np.prod(shape))
        fits = [(b.size, i) for i, b in enumerate(self.free) if b.size >= size]
        flat = self.free.pop(min(fits)[1]) if fits else np.empty(size)
        array = flat[:size].reshape(shape)
        self.lent[id(array)] = flat
        return array

    def give(self, array):
        self.free.append(self.lent.pop(id(array)))


def _conv(x, s, weights, pool):
    top, bottom, left, right = s["pads"]
    stride = s["stride"]
    w = weights[s["w"]]
    batch, h, wd, c = x.shape
    if s["kind"] == "pointwise":
        y = pool.take((batch, h, wd, w.shape[1]))
        np.matmul(x.reshape(-1, c), w, out=y.reshape(-1, w.shape[1]))
    else:
        padded = bool(top or bottom or left or right)
        if padded:
            xp = pool.take((batch, h + top + bottom, wd + left + right, c))
            xp[:, :top] = xp[:, top + h:] = 0.0
            xp[:, :, :left] = xp[:, :, left + wd:] = 0.0
            xp[:, top:top + h, left:left + wd] = x
        else:
            xp = x
        k = w.shape[0] if s["kind"] == "depthwise" else s["k"]
        ho, wo = (xp.shape[1] - k) // stride + 1, (xp.shape[2] - k) // stride + 1

        def tap(i, j):
            return xp[:, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride, :]

        if s["kind"] == "depthwise":
            w = pool.row_weights(s["w"], w, wo)
            y = pool.take((batch, ho, wo, c))
            term = pool.take(y.shape)
            np.multiply(tap(0, 0), w[0, 0], out=y)
            for i in range(k):
                for j in range(k):
                    if i or j:
                        np.multiply(tap(i, j), w[i, j], out=term)
                        y += term
            pool.give(term)
        else:  # full: im2col, columns in (i, j, channel) order as the weights' rows
            cols = pool.take((batch, ho, wo, k * k * c))
            for i in range(k):
                for j in range(k):
                    cols[..., (i * k + j) * c:(i * k + j + 1) * c] = tap(i, j)
            y = pool.take((batch, ho, wo, w.shape[1]))
            np.matmul(cols.reshape(-1, k * k * c), w, out=y.reshape(-1, w.shape[1]))
            pool.give(cols)
        if padded:
            pool.give(xp)
    if s["b"] is not None:
        y += weights[s["b"]]
    return y


@lru_cache(maxsize=1)
def network():
    return _Network(WEIGHTS)


def _anchors(h, w):
    """Anchor centres in input pixels, in the network's output order: 2 per cell of the stride-8 grid,
    then 6 per cell of the stride-16 grid. The network is fully convolutional, so any size that is a
    multiple of 16 works; it was trained at 128×128."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        ys, xs = np.mgrid[0:h // stride, 0:w // stride]
        c = np.stack([(xs + 0.5) * stride, (ys + 0.5) * stride], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(c, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(centres)


def run_network(gray):
    """(H, W) luma in 0..255, H and W multiples of 16 -> scores (A,) and boxes (A, 4) as x0, y0, x1, y1
    in input pixels, one per anchor."""
    h, w = gray.shape
    x = np.asarray(gray, dtype=np.float64)[None, :, :, None] / 127.5 - 1.0
    out = network()(x)
    logits = np.concatenate([out["scores16"], out["scores8"]], axis=1)[0, :, 0]
    raw = np.concatenate([out["boxes16"], out["boxes8"]], axis=1)[0]
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -100.0, 100.0)))
    centre = _anchors(h, w) + raw[:, 0:2]
    half = raw[:, 2:4] / 2
    return scores, np.concatenate([centre - half, centre + half], axis=1)


def _padded(img, long_side):
    """`img` downscaled so its longer side is `long_side`, on a mid-gray canvas whose sides are
    multiples of 16 (the image at the top left); -> (array, scale from image to canvas pixels)."""
    w, h = img.size
    scale = long_side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(img.resize(size, Image.BILINEAR, reducing_gap=2.0))
    canvas = np.full((-(-size[1] // 16) * 16, -(-size[0] // 16) * 16), PAD, dtype=np.uint8)
    canvas[:size[1], :size[0]] = small
    return canvas, scale


def _blend(scores, boxes):
    """Overlapping detections -> one each: the score-weighted mean box and the highest score."""
    order = np.argsort(-scores, kind="stable")
    scores, boxes = scores[order], boxes[order]
    left = np.ones(len(scores), dtype=bool)
    found = []
    for i in range(len(scores)):
        if not left[i]:
            continue
        x0 = np.maximum(boxes[i, 0], boxes[:, 0])
        y0 = np.maximum(boxes[i, 1], boxes[:, 1])
        x1 = np.minimum(boxes[i, 2], boxes[:, 2])
        y1 = np.minimum(boxes[i, 3], boxes[:, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        group = left & (inter >= NMS_IOU * (area[i] + area - inter))
        group[i] = True
        left &= ~group
        weights = scores[group]
        found.append((float(scores[i]), (boxes[group] * weights[:, None]).sum(axis=0) / weights.sum()))
    return found


def find_faces(img, min_score=MIN_SCORE, fine=FINE):
    """Faces in a Pillow image (gray or colour) -> [{"box": [x0, y0, x1, y1] in image pixels, "score"}],
    best first.

    The whole image is looked at with its longer side at 128 px; unless that finds a face filling the
    frame (a portrait: smaller faces beside it do not change its verdict), again at `fine` px (or at its
    own size, if smaller: enlarging shows no smaller face) for faces down to about a twentieth of the
    longer side at 384 px (scripts/face_recall.py compares sizes).
    """
    if img.mode != "L":
        img = img.convert("L")
    w, h = img.size
    coarse = _detections(img, COARSE, min_score)
    detections = [coarse]
    # the box clipped to the picture, as returned and as facecheck decides with: a face reaching beyond
    # the border must not fill the frame here and not there
    if max(w, h) > COARSE and not any(_fills_frame(_clipped(b, w, h), w, h) for _, b in _blend(*coarse)):
        detections.append(_detections(img, min(fine, max(w, h)), min_score))
    scores = np.concatenate([d[0] for d in detections])
    boxes = np.concatenate([d[1] for d in detections])
    faces = []
    for score, box in _blend(scores, boxes):
        x0, y0, x1, y1 = _clipped(box, w, h)
        if x1 - x0 >= 1 and y1 - y0 >= 1:
            faces.append({"box": [x0, y0, x1, y1], "score": score})
    return faces


def _detections(img, long_side, min_score):
    """Scores and boxes (in image pixels) above `min_score` at one scale."""
    canvas, scale = _padded(img, long_side)
    scores, boxes = run_network(canvas)
    keep = scores > min_score
    return scores[keep], boxes[keep] / scale


def _clipped(box, w, h):
    return np.clip(box, 0, [w, h, w, h]).tolist()


def _fills_frame(box, w, h):
    """Whether a face box is as large in its image as in the training portraits."""
    return min(box[2] - box[0], box[3] - box[1]) >= FILL * min(w, h)
