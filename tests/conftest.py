"""Shared fixtures: synthetic test images, a static server for dist/, and Debian's Chromium via Playwright."""

import io
import json
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SEED_DATA = ROOT.parent / "shared" / "data" / "seed-faces"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
sys.path.insert(0, str(ROOT))  # build.py


def texture(size=256, seed=0, upsample=1):
    """A smooth-ish random texture; upsample>1 repeats pixels like a generator's up-sampling layer."""
    rng = np.random.default_rng(seed)
    small = size // upsample
    base = rng.normal(0, 1, (small, small, 3)).cumsum(0).cumsum(1)
    base = (base - base.min()) / (np.ptp(base) + 1e-9) * 200 + rng.normal(0, 12, base.shape) + 20
    img = np.clip(base, 0, 255).astype(np.uint8)
    if upsample > 1:
        img = img.repeat(upsample, 0).repeat(upsample, 1)
    return Image.fromarray(img, "RGB")


def encode(img, fmt="JPEG", **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def small_model(cfg=None, seed=0):
    """A valid model with random coefficients, for tests that need one but not a trained one."""
    from facespectra.runtime.model import SpectralModel
    from facespectra.runtime.spectrum import FeatureConfig

    cfg = cfg or FeatureConfig(bins=16)
    n = cfg.n_features
    rng = np.random.default_rng(seed)
    return SpectralModel(cfg, rng.normal(40, 5, n), rng.uniform(1, 3, n), rng.normal(0, 0.2, n), 0.1)


def write_model(path, cfg=None):
    model = small_model(cfg)
    path.write_text(json.dumps(model.to_dict()))
    return model


@pytest.fixture
def jpeg_bytes():
    return encode(texture(256, seed=1), "JPEG", quality=90)


@pytest.fixture(scope="session")
def seed_data():
    if not (SEED_DATA / "real").is_dir():
        pytest.skip(f"{SEED_DATA} is not present")
    return SEED_DATA


@pytest.fixture(scope="session")
def dist_dir():
    import build

    dist = build.DIST
    if not (dist / "index.html").exists():
        pytest.fail("dist/ is not built: run `make build` (make test does it)")
    return dist


def serve(directory, base="/", csp_header=True, cache_control=None):
    import build

    server = build.make_server(directory, port=0, base=base, csp_header=csp_header, cache_control=cache_control)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture(scope="session")
def server(dist_dir):
    srv = serve(dist_dir)
    yield srv
    srv.shutdown()


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def app(browser, server):
    """One page load, under the page's real policy, shared by a module's tests (Pyodide takes seconds to start),
    with every worker and its second detector loaded, so its rows are judged as CPython judges them."""
    from browser_helpers import open_app, wait_all_workers, wait_ready

    page = open_app(browser, server.base_url)
    wait_ready(page)
    wait_all_workers(page)
    yield page
    page.context.close()
