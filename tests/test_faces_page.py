"""Faces in the page (Chromium): the same faces and per-face verdicts as CPython, boxes drawn on the
thumbnail and in the explanation, face lines reachable from the keyboard, the count in the CSV export."""

import csv
import json

import numpy as np
import pytest

from browser_helpers import drop_files, results
from conftest import encode, texture
from faces_scenes import portrait, rotated, scene
from test_cnn_page import P_ATOL
from facespectra.runtime.classify import classify_bytes
from facespectra.runtime.model import SpectralModel

pytestmark = pytest.mark.browser


def face_files(seed_data):
    group, _ = scene([portrait(seed_data, *p) for p in [("real", 0), ("fake", 0), ("real", 1)]],
                     [(60, 80, 320), (520, 420, 400), (1040, 120, 480)])
    edge, _ = scene([portrait(seed_data, "real", 4)], [(1200, 800, 400)], seed=2)
    return [
        ("group.jpg", encode(group, "JPEG", quality=95)),
        ("edge.png", encode(edge, "PNG")),
        ("turned.jpg", encode(rotated(portrait(seed_data, "real", 3), 20, 900), "JPEG", quality=92)),
        ("portrait.jpg", (seed_data / "fake" / sorted(p.name for p in (seed_data / "fake").iterdir())[0]).read_bytes()),
        ("wall.jpg", encode(texture(600, seed=8), "JPEG", quality=90)),
    ]


def page_faces(app, name):
    row = app.locator(f'[data-testid=result][data-name="{name}"]')
    return int(row.get_attribute("data-faces")), row.locator("[data-testid=face]").evaluate_all(
        "lis => lis.map(li => ({index: li.dataset.index, box: JSON.parse(li.dataset.box), score: +li.dataset.score,"
        " verdict: li.dataset.verdict, p_fake: li.dataset.pFake === undefined ? null : +li.dataset.pFake}))")


def test_page_finds_the_same_faces_and_gives_the_same_verdicts_as_cpython(app, dist_dir, seed_data, tmp_path):
    files = face_files(seed_data)
    drop_files(app, files)
    results(app, len(files))
    model = SpectralModel.load(dist_dir / json.loads((dist_dir / "build-manifest.json").read_text())["weights"])
    drift = {"box": 0.0, "score": 0.0, "p_fake": 0.0}
    for name, data in files:
        expected = classify_bytes(data, model)
        count, faces = page_faces(app, name)
        assert count == len(expected["faces"]) == len(faces), name
        for got, want in zip(faces, expected["faces"]):
            drift["box"] = max(drift["box"], float(np.abs(np.subtract(got["box"], want["box"])).max()))
            drift["score"] = max(drift["score"], abs(got["score"] - want["score"]))
            if want.get("p_fake") is not None:
                drift["p_fake"] = max(drift["p_fake"], abs(got["p_fake"] - want["p_fake"]))
            np.testing.assert_allclose(got["box"], want["box"], rtol=0, atol=1e-6, err_msg=name)
            assert abs(got["score"] - want["score"]) <= 1e-6, name
            assert got["verdict"] == want.get("verdict", ""), name
            if want.get("p_fake") is not None:  # float32 logarithm in the spectrum: as test_page's 1e-7, and
                bound = P_ATOL if expected["detectors"] == "both" else 1e-7  # the CNN's float32 network
                assert abs(got["p_fake"] - want["p_fake"]) <= bound, name
    print(f"\npage vs CPython, largest differences: {drift}")
    counts = {name: page_faces(app, name)[0] for name, _ in files}
    assert counts["group.jpg"] == 3 and counts["wall.jpg"] == 0
    assert counts["edge.png"] == counts["turned.jpg"] == counts["portrait.jpg"] == 1

    # boxes on the thumbnail, one per face; a face line takes the keyboard focus and lights its box
    group = app.locator('[data-testid=result][data-name="group.jpg"]')
    group.scroll_into_view_if_needed()  # thumbnails are made for rows near the view (thumbs.js)
    group.locator(".face-boxes rect").nth(2).wait_for(state="attached")  # drawn once the thumbnail loads
    assert group.locator(".face-boxes rect").count() == 3
    group.locator("[data-testid=face]").nth(1).focus()
    assert group.locator('.face-boxes rect.lit').evaluate_all("rs => rs.map(r => r.dataset.face)") == ["2"]
    assert group.locator("[data-testid=face]").nth(1).evaluate("li => li.tabIndex") == 0

    # the explanation shows the picture with the same boxes
    group.get_by_role("button", name="Why?").click()
    app.wait_for_selector('#explain[data-state="ready"]', state="attached", timeout=120_000)
    app.locator("#explain .faces-figure .face-boxes rect").nth(2).wait_for(state="attached")
    assert app.locator("#explain .faces-figure .face-boxes rect").count() == 3
    assert app.locator("#explain .faces-figure [data-testid=face]").count() == 3

    with app.expect_download() as info:
        app.get_by_role("button", name="Export CSV").click()
    with open(info.value.path(), encoding="utf-8", newline="") as fh:
        exported = {r["path"]: r for r in csv.DictReader(fh)}
    assert {name: exported[name]["faces"] for name, _ in files} == {k: str(v) for k, v in counts.items()}
