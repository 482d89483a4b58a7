"""Decoding at the 40-MP limit stays within a memory bound a wasm32 worker can hold: a transparent PNG
and a float TIFF, each checked in a fresh process whose peak resident memory is measured."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, write_model
from facespectra.runtime.decode import MAX_PIXELS

SIDE = (6400, 6250)  # 40,000,000 pixels: the limit
# Peak growth while checking, over the process's size before. Converting the whole picture at once kept
# the decoded picture, an RGBA copy, a white canvas, the composite and the result: 768 MiB for the PNG.
# In strips: the decoded picture (160 MiB at 4 bytes a pixel), the 8-bit result and one strip's copies.
BOUND_MIB = 320

# Linux's peak resident size (VmHWM; ru_maxrss would carry the parent's peak across exec), reset to the
# current size just before the check by writing 5 to clear_refs.
PROBE = """
import json, sys
from facespectra.runtime.classify import classify_bytes
from facespectra.runtime.model import SpectralModel

def status_kib(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(key + ":"))

model = SpectralModel.load(sys.argv[2])
data = open(sys.argv[1], "rb").read()
before = status_kib("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
row = classify_bytes(data, model)
print(json.dumps({"grew_mib": (status_kib("VmHWM") - before) / 1024, "verdict": row["verdict"], "error": row["error"]}))
"""


def pattern():
    y, x = np.mgrid[0:SIDE[1], 0:SIDE[0]]
    return x, y


@pytest.fixture(scope="module")
def limit_files(tmp_path_factory):
    """A transparent PNG and a float TIFF of exactly MAX_PIXELS (smooth, so each file is small)."""
    assert SIDE[0] * SIDE[1] == MAX_PIXELS
    folder = tmp_path_factory.mktemp("limit")
    x, y = pattern()
    rgba = np.empty((SIDE[1], SIDE[0], 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = x * 255 // SIDE[0], y * 255 // SIDE[1], (x + y) % 256
    rgba[..., 3] = np.where((x // 64 + y // 64) % 2, 255, 128)
    Image.fromarray(rgba, "RGBA").save(folder / "transparent.png")
    del rgba
    Image.fromarray(((x // 50) * 0.5 + (y // 70) * 0.25).astype(np.float32), "F").save(
        folder / "float.tif", compression="tiff_deflate")
    write_model(folder / "model.json")
    return folder


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc/self/status")
@pytest.mark.parametrize("name", ["transparent.png", "float.tif"])
def test_a_picture_at_the_pixel_limit_is_checked_within_the_memory_bound(limit_files, name):
    out = subprocess.run([sys.executable, "-c", PROBE, str(limit_files / name), str(limit_files / "model.json")],
                         capture_output=True, text=True, check=True, cwd=ROOT, timeout=300)
    result = json.loads(out.stdout)
    assert result["error"] is None and result["verdict"] in ("real", "fake", "uncertain"), result
    assert result["grew_mib"] < BOUND_MIB, result
