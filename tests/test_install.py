"""Installable anywhere: a non-editable install into a fresh virtual environment carries the shipped
weights, and `facespectra predict` works from a directory that is not the checkout. The README's API
example runs as written."""

import csv
import io
import re
import shutil
import subprocess
import sys
import venv

from conftest import ROOT, encode, texture


def test_fresh_venv_install_predicts_from_any_directory(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    checkout = tmp_path / "checkout"  # a copy: setuptools builds in the source tree
    for name in ("py", "weights", "pyproject.toml", "README.md"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, checkout / name)
    subprocess.run([py, "-m", "pip", "install", "-q", str(checkout)], check=True, capture_output=True, text=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "photo.jpg").write_bytes(encode(texture(256, seed=3), "JPEG", quality=90))
    out = subprocess.run([env_dir / "bin" / "facespectra", "predict", "photo.jpg"], cwd=work, check=True,
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["path"] for r in rows] == ["photo.jpg"]
    assert rows[0]["label"] in ("real", "fake", "uncertain") and 0 <= float(rows[0]["p_fake"]) <= 1
    shutil.rmtree(checkout)  # nothing may still point into it
    site = subprocess.run([py, "-c", "import facespectra.api as a; print(a.SHIPPED_WEIGHTS.read_bytes() == open("
                           f"{str(ROOT / 'weights' / 'model.json')!r}, 'rb').read(), a.__file__)"],
                          cwd=work, check=True, capture_output=True, text=True).stdout.split()
    assert site[0] == "True" and str(env_dir) in site[1]  # the installed copy, not the checkout


def test_readme_api_example_runs(tmp_path):
    """The README's ```python block under "Python API", run in a folder with an image in photos/."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(encode(texture(256, seed=4), "JPEG", quality=90))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True)
    assert "photos/a.jpg" in out.stdout
