"""The second detector in the page (Chromium): the CNN's weights load after ready, the page computes the same
network features, CNN log-odds, opinions and verdicts as CPython, and rows say which detectors judged them."""

import base64
import json
from urllib.parse import urlsplit

import numpy as np
import pytest

from browser_helpers import drop_files, open_app, results, wait_all_workers, wait_ready
from conftest import SEED_DATA, encode, texture
from facespectra.runtime import effnet
from facespectra.runtime.classify import classify_bytes
from facespectra.runtime.cnn import opinion
from facespectra.runtime.explain import model_info
from facespectra.runtime.model import SpectralModel
from facespectra.runtime.spectrum import extract_with_image

pytestmark = pytest.mark.browser

# Page (Pyodide 0.27.7's numpy 2.0.2, no BLAS: einsum and numpy's own matmul) against CPython (current numpy,
# OpenBLAS): the same float32 network, its sums taken in another order; the decoded luma is the same. Measured
# with the first weights carrying a CNN head, on this module's files, test_page's 24 and test_faces_page's
# faces: pooled features at most 8.8e-6 apart (features up to about 19: 5e-7 of the largest), the head's
# log-odds 1.8e-5, each opinion and p_fake 1.3e-6. The bounds keep about 10x.
FEATURES_ATOL = 1e-4
LOGIT_ATOL = 2e-4
P_ATOL = 1e-5

# A module worker of its own in the page, started from a blob: URL as the app's are (so under the page's
# policy): the dist's own Pyodide, runtime zip and weights, the CNN's weights handed over by
# worker_api.load_network as the app's worker does -> per file, the network's pooled features and the head's
# log-odds on the image classify reads.
NETWORK_WORKER = """
self.onmessage = async ({ data: { base, build, files } }) => {
  try {
    const indexURL = new URL(build.pyodideDir, base).href;
    const { loadPyodide } = await import(indexURL + "pyodide.mjs");
    const py = await loadPyodide({ indexURL });
    await py.loadPackage(build.packages, { messageCallback: () => {} });
    const get = async (name) => (await fetch(new URL(name, base))).arrayBuffer();
    py.unpackArchive(await get(build.runtime), "zip", { extractDir: "/home/pyodide/runtime" });
    py.globals.set("ARGS", py.toPy([new Uint8Array(await get(build.network)), build.networkSha256,
                                    new TextDecoder().decode(await get(build.weights)), files]));
    self.postMessage(py.runPython(`
import base64, json, sys
sys.path.insert(0, "/home/pyodide/runtime")
from facespectra.runtime import effnet, worker_api
from facespectra.runtime.cnn import opinion
from facespectra.runtime.model import SpectralModel
from facespectra.runtime.spectrum import extract_with_image
network, sha256, weights, files = ARGS
refused = worker_api.load_network(network, sha256)
model = SpectralModel.loads(weights)
out = {"refused": refused, "files": []}
for data in files:
    img, _ = extract_with_image(base64.b64decode(data), model.config)
    out["files"].append({"features": effnet.features(img).tolist(), "logit": opinion(img, model.cnn)})
json.dumps(out)`));
  } catch (err) {
    self.postMessage(JSON.stringify({ error: String(err.message || err) }));
  }
};
"""


def network_in_page(page, base_url, build, files):
    return json.loads(page.evaluate("""async ([source, data]) => {
        const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
        const worker = new Worker(url, { type: "module" });
        const answer = new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data); });
        worker.postMessage(data);
        try { return await answer; } finally { worker.terminate(); }
    }""", [NETWORK_WORKER, {"base": base_url, "build": build,
                            "files": [base64.b64encode(data).decode() for _, data in files]}]))


def manifest(dist_dir):
    return json.loads((dist_dir / "build-manifest.json").read_text())


@pytest.fixture(scope="module")
def model(dist_dir):
    model = SpectralModel.load(dist_dir / manifest(dist_dir)["weights"])
    if model.cnn is None:
        pytest.skip("the shipped weights carry no CNN head: every row is judged by the spectral model alone")
    return model


def parity_files():
    """Textures (no face), an up-sampled one and, when ../shared holds the seed portraits, a portrait and a
    composite of a real and a generated one on a texture (never written to disk)."""
    files = [("texture-q90.jpg", encode(texture(320, seed=3), "JPEG", quality=90)),
             ("upsampled.png", encode(texture(256, seed=5, upsample=4), "PNG")),
             ("texture-1024.png", encode(texture(1024, seed=6), "PNG"))]
    if (SEED_DATA / "real").is_dir():
        from faces_scenes import portrait, scene

        pair, _ = scene([portrait(SEED_DATA, "real", 0), portrait(SEED_DATA, "fake", 0)],
                        [(80, 120, 640), (860, 300, 660)])
        files += [("seed-fake.jpg", sorted((SEED_DATA / "fake").iterdir())[1].read_bytes()),
                  ("composite.jpg", encode(pair, "JPEG", quality=95))]
    return files


def row_of(page, name):
    return page.locator(f'[data-testid=result][data-name="{name}"]')


def test_page_network_logits_opinions_and_verdicts_equal_cpython(app, server, dist_dir, model):
    """The network's pooled features and the head's log-odds computed by the dist's Pyodide in Chromium, and the
    app's rows (all judged by both detectors once every worker has the network) against CPython."""
    files = parity_files()
    page_net = network_in_page(app, server.base_url, manifest(dist_dir), files)
    assert "error" not in page_net and page_net["refused"] is None, page_net
    drift = {"features": 0.0, "logit": 0.0, "p": 0.0}
    for (name, data), got in zip(files, page_net["files"]):
        img, _ = extract_with_image(data, model.config)
        want = effnet.features(img)
        drift["features"] = max(drift["features"], float(np.abs(np.subtract(got["features"], want)).max()))
        np.testing.assert_allclose(got["features"], want, rtol=0, atol=FEATURES_ATOL, err_msg=name)
        logit = opinion(img, model.cnn)
        drift["logit"] = max(drift["logit"], abs(got["logit"] - logit))
        assert abs(got["logit"] - logit) <= LOGIT_ATOL, name

    wait_all_workers(app)
    before = app.locator("[data-testid=result]").count()
    drop_files(app, files)
    rows = {r["name"]: r for r in results(app, before + len(files))}
    for name, data in files:
        expected = classify_bytes(data, model)
        row, page_row = rows[name], row_of(app, name)
        assert expected["detectors"] == page_row.get_attribute("data-detectors") == "both", name
        assert (row["label"], row["reason"]) == (expected["verdict"], expected["reason"]), name
        opinions = json.loads(page_row.get_attribute("data-opinions"))
        for detector, p in expected["opinions"].items():
            assert (opinions[detector] is None) == (p is None), (name, detector)
            if p is not None:
                drift["p"] = max(drift["p"], abs(opinions[detector] - p))
                assert abs(opinions[detector] - p) <= P_ATOL, (name, detector)
        if expected["p_fake"] is not None:
            drift["p"] = max(drift["p"], abs(float(row["p_fake"]) - expected["p_fake"]))
            assert abs(float(row["p_fake"]) - expected["p_fake"]) <= P_ATOL, name
    print(f"\npage vs CPython, largest differences: {drift}")


def test_rows_before_the_network_are_spectral_then_both_with_their_zones(browser, server, dist_dir, model):
    """The CNN's weights are held back at the server's door: the page gets ready, says the second detector is
    loading, and a file dropped meanwhile is checked at once by the spectral model alone, and its "Why?" says
    so. Once they arrive every worker loads them, the page says so, and the next file is judged by both, its
    bar drawn in the zones of the rule over both detectors."""
    page = open_app(browser, server.base_url, service_workers="block")
    held, released = [], []

    def hold(route):
        (route.continue_() if released else held.append(route))

    page.context.route(f"**/{manifest(dist_dir)['network']}", hold)
    status = page.locator("[data-testid=network-status]")
    try:
        wait_ready(page)
        page.wait_for_selector("[data-testid=network-status][data-state=loading]", state="attached")
        assert "loading" in status.text_content() and "spectral traces alone" in status.text_content()
        early = ("early.jpg", encode(texture(320, seed=60), "JPEG", quality=92))
        drop_files(page, [early])
        results(page, 1)
        assert held, "the worker did not ask for the CNN's weights"
        assert row_of(page, "early.jpg").get_attribute("data-detectors") == "spectral"
        row_of(page, "early.jpg").get_by_role("button", name="Why?").click()
        page.wait_for_selector("[data-testid=explanation][data-state=ready]", state="attached", timeout=60_000)
        cnn_line = page.locator("[data-testid=opinions] [data-detector=cnn]").text_content()
        assert "not loaded yet when this image was checked" in cnn_line, cnn_line
        spectral = float(page.locator("[data-testid=opinions] [data-detector=spectral]").get_attribute("data-p-fake"))
        assert spectral == pytest.approx(float(row_of(page, "early.jpg").get_attribute("data-p-fake")))

        released.append(True)
        for route in held:  # the list may grow while this runs: a later request is let through by hold()
            route.continue_()
        wait_all_workers(page)
        assert status.get_attribute("data-state") == "ready" and "ready" in status.text_content()
        later = ("later.jpg", encode(texture(1024, seed=80), "JPEG", quality=92))
        drop_files(page, [later])
        results(page, 2)
        expected = classify_bytes(later[1], model)
        row = row_of(page, "later.jpg")
        assert row.get_attribute("data-detectors") == expected["detectors"] == "both"
        zones = model_info(model)["zones_both"][expected["regime"]]
        bar = row.locator(".bar")
        assert bar.get_attribute("data-t-fake") == str(zones["t_fake"]).replace("None", "null")
        assert bar.get_attribute("data-t-real") == str(zones["t_real"]).replace("None", "null")
        row.get_by_role("button", name="Why?").click()
        page.wait_for_selector('#explain[data-name="later.jpg"][data-state=ready]', state="attached", timeout=60_000)
        cnn_line = page.locator("[data-testid=opinions] [data-detector=cnn]")
        assert cnn_line.text_content().startswith("Face appearance (CNN): ")
        assert float(cnn_line.get_attribute("data-p-fake")) == pytest.approx(expected["opinions"]["cnn"], abs=P_ATOL)
        origin = urlsplit(server.base_url)[:2]
        assert {urlsplit(route.request.url)[:2] for route in held} == {origin}
        assert {urlsplit(u)[:2] for u in page.requests if not u.startswith(("blob:", "data:"))} == {origin}
    finally:
        page.context.close()
