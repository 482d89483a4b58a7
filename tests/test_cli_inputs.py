"""`facespectra predict` on paths that are not plain readable images: one row each, atomic output, clean Ctrl-C."""

import csv
import errno
import json
import os

import pytest

from corpus import encode, texture
from facespectra import cli
from facespectra.runtime import classify, worker_api
from conftest import small_model


@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(small_model().to_dict()))
    return path


@pytest.fixture
def good(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    data = encode(texture(), "PNG")
    for name in ("a.png", "b.png", "c.png", "d.png"):
        (folder / name).write_bytes(data)
    return folder


def predict(weights, out, *paths):
    code = cli.main(["predict", *map(str, paths), "--weights", str(weights), "--csv", str(out)])
    with open(out, encoding="utf-8", newline="") as fh:
        return code, list(csv.DictReader(fh))


def test_unreadable_paths_get_one_row_each(good, weights, tmp_path, monkeypatch):
    """Missing file, broken link, pipe and permission denied: each one error row, the good file still classified."""
    broken = good / "broken.jpg"
    broken.symlink_to(tmp_path / "nowhere.jpg")
    fifo = good / "pipe.jpg"
    os.mkfifo(fifo)  # reading it blocking would hang the batch for ever
    locked = good / "locked.jpg"
    locked.write_bytes(b"")
    real_open = os.open

    def deny(path, *args, **kw):  # the tests may run as root, for whom chmod 000 denies nothing
        if os.fspath(path) == os.fspath(locked):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kw)

    monkeypatch.setattr(os, "open", deny)
    code, rows = predict(weights, tmp_path / "out.csv", good, tmp_path / "missing.jpg")
    got = {os.path.basename(r["path"]): r for r in rows}
    assert code == 0 and len(rows) == 8
    assert got["broken.jpg"]["error"] == got["missing.jpg"]["error"] == "cannot read file: No such file or directory"
    assert got["pipe.jpg"]["error"] == "cannot read file: not a regular file (a device, pipe or socket)"
    assert got["locked.jpg"]["error"] == "cannot read file: Permission denied"
    assert all(got[n]["label"] == got[n]["verdict"] != "error" for n in ("a.png", "b.png", "c.png", "d.png"))


def test_unlistable_folder_gets_a_row(good, weights, tmp_path, monkeypatch):
    """A sub-folder that cannot be listed is reported, not silently skipped with its files."""
    sub = good / "private"
    sub.mkdir()
    (sub / "e.png").write_bytes((good / "a.png").read_bytes())
    real_scandir = os.scandir

    def deny(path="."):
        if os.fspath(path) == os.fspath(sub):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", deny)
    _, rows = predict(weights, tmp_path / "out.csv", good)
    errors = [(r["path"], r["error"]) for r in rows if r["label"] == "error"]
    assert errors == [(str(sub), "cannot read folder: Permission denied")] and len(rows) == 5


def test_folder_named_like_a_file_is_searched(good, weights, tmp_path):
    """A directory called x.jpg is a folder: its files get rows, the folder itself none."""
    odd = good / "x.jpg"
    odd.mkdir()
    (odd / "inner.png").write_bytes((good / "a.png").read_bytes())
    _, rows = predict(weights, tmp_path / "out.csv", odd, good)
    paths = [r["path"] for r in rows]
    assert paths.count(str(odd / "inner.png")) == 2 and str(odd) not in paths
    assert all(r["label"] == r["verdict"] != "error" for r in rows)


def test_names_with_csv_syntax_round_trip(good, weights, tmp_path):
    """Commas, quotes and newlines in names are quoted so the CSV parses back to the same path."""
    name = 'we,ird "name"\nline.png'
    (good / name).write_bytes((good / "a.png").read_bytes())
    _, rows = predict(weights, tmp_path / "out.csv", good / name)
    assert [r["path"] for r in rows] == [str(good / name)]


def test_ctrl_c_leaves_no_csv_and_exits_130(good, weights, tmp_path, monkeypatch, capsys):
    """Interrupted after two files: exit code 130, the old CSV untouched, no temporary file left behind."""
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    real, calls = classify.classify_bytes, []

    def interrupt_third(data, model):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(data, model)

    monkeypatch.setattr(worker_api, "classify_bytes", interrupt_third)
    code = cli.main(["predict", str(good), "--weights", str(weights), "--csv", str(out)])
    assert code == 130 and "interrupted" in capsys.readouterr().err
    assert out.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "model.json", "out.csv"]


def test_a_bug_costs_one_row_not_the_batch(good, weights, tmp_path, monkeypatch):
    """An unexpected exception for one file becomes that file's error row; the rest are still classified."""
    real = classify.classify_bytes
    calls = []

    def fail_second(data, model):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return real(data, model)

    monkeypatch.setattr(worker_api, "classify_bytes", fail_second)
    _, rows = predict(weights, tmp_path / "out.csv", good)
    assert [r["label"] == "error" for r in rows] == [False, True, False, False]
    assert rows[1]["error"] == "internal error, please report: RuntimeError: boom"


def test_oversized_file_is_not_read_whole(good, weights, tmp_path):
    """A file over the byte limit is refused from its size, before it is read."""
    big = good / "big.png"
    with open(big, "wb") as fh:
        fh.truncate(70 * 1024 * 1024)  # sparse: no disk used
    _, rows = predict(weights, tmp_path / "out.csv", big)
    assert rows[0]["error"] == "file is 70 MiB; the limit is 64 MiB"
