"""Start-up: the worker's warm-up check changes no row; a return visit starts Python from the build's memory
snapshot, which a first visit never downloads before it is ready, and the rows are the same to the last
digit either way."""

import hashlib
import json
from urllib.parse import urlsplit

import pytest

from browser_helpers import drop_files, open_app, results, wait_all_workers, wait_ready, worker_message_recorder
from conftest import encode, texture, write_model
from facespectra.runtime import effnet, worker_api


def test_warm_up_changes_no_row(tmp_path):
    write_model(tmp_path / "m.json")
    worker_api.load_model((tmp_path / "m.json").read_text())
    image = encode(texture(1024, seed=7), "JPEG", quality=90)
    before = worker_api.check_json(image)
    more, step = True, 0
    while more:
        more = worker_api.warm_up(step)
        step += 1
    assert step == len(worker_api.WARM_UP_STEPS) >= 2
    assert worker_api.check_json(image) == before

# The worker's "info" messages: their start-up marks say whether it started from the snapshot.
RECORD_INFO = worker_message_recorder("__infos", "info", "marks")


@pytest.mark.browser
def test_a_return_visit_starts_from_the_snapshot_with_the_same_rows(browser, server, dist_dir):
    snapshot = json.loads((dist_dir / "build-manifest.json").read_text())["snapshot"]
    image = [("face.jpg", encode(texture(320, seed=41), "JPEG", quality=90))]
    page = open_app(browser, server.base_url)
    page.context.add_init_script(RECORD_INFO)
    try:
        page.reload()
        wait_ready(page)
        assert not any(urlsplit(u).path.endswith(snapshot) for u in page.requests)  # not before ready
        wait_all_workers(page)  # rows by both detectors on both visits
        first = page.evaluate("window.__infos[0]")
        drop_files(page, image)
        before = results(page, 1)
        page.wait_for_selector("[data-testid=offline][data-state=ready]", state="attached", timeout=120_000)
        page.reload()
        wait_ready(page)
        wait_all_workers(page)
        page.wait_for_function("window.__infos.length > 0")
        again = page.evaluate("window.__infos[0]")
        drop_files(page, image)
        after = results(page, 1)
    finally:
        page.context.close()
    assert first["fromSnapshot"] is False and again["fromSnapshot"] is True
    assert after == before and before[0]["p_fake"] is not None


def test_the_network_is_written_and_loaded_only_if_its_sha256_is_this_builds(tmp_path, monkeypatch):
    """worker_api.load_network, as the worker calls it after ready: another build's file is refused and nothing
    is written; this build's is written whole where effnet.WEIGHTS points (no part file left), and warms up."""
    data = effnet.WEIGHTS.read_bytes()
    monkeypatch.setattr(effnet, "WEIGHTS", tmp_path / "effnet.npz")
    refused = worker_api.load_network(data, hashlib.sha256(b"another build's weights").hexdigest())
    assert "is not this build's" in refused and list(tmp_path.iterdir()) == []
    assert worker_api.load_network(data, hashlib.sha256(data).hexdigest()) is None
    assert [p.name for p in tmp_path.iterdir()] == ["effnet.npz"] and effnet.WEIGHTS.read_bytes() == data
    worker_api.warm_up_network()
