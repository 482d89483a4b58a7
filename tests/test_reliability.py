"""Issue 16, reliable in the real world: one CSV rule for the CLI and the page, a queue that cannot stall,
the worker's policy on a header-less host, updates that keep offline use, and the smaller ones."""

import csv
import io

from conftest import encode, texture, write_model
from facespectra import cli
from facespectra.runtime import csvrows

# File names a spreadsheet would run as formulas (or shift into one): every one must come out as text.
HOSTILE_NAMES = ['=HYPERLINK("http:__x","y").jpg', "+1.jpg", "-2.jpg", "@sum.jpg", "\ttab.jpg", "\rcr.jpg"]


def test_cli_csv_has_the_shared_columns_and_defuses_formula_names(tmp_path, monkeypatch, capsys):
    """Problem 4: the CLI writes hostile names (and the error of a broken one) with a leading apostrophe."""
    write_model(tmp_path / "w.json")
    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(HOSTILE_NAMES):
        (folder / name).write_bytes(encode(texture(96, seed=i), "PNG"))
    (folder / "=broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    monkeypatch.chdir(folder)
    names = sorted(HOSTILE_NAMES + ["=broken.jpg"])
    assert cli.main(["predict", "--weights", str(tmp_path / "w.json"), "--", *names]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    assert rows[0] == list(csvrows.COLUMNS) == ["path", "label", "verdict", "p_fake", "reason", "flags", "faces", "error"]
    assert [r[0] for r in rows[1:]] == ["'" + n for n in names]
    assert all(len(r) == len(csvrows.COLUMNS) for r in rows)
    broken = dict(zip(rows[0], rows[1 + names.index("=broken.jpg")]))
    assert broken["label"] == "error" and broken["p_fake"] == "" and broken["error"]


def test_csv_cells_write_missing_columns_empty_and_lists_joined():
    row = {"path": "-x.png", "label": "fake", "p_fake": 0.1 + 0.2, "flags": ["small", "heavy-jpeg"],
           "faces": [{"box": [0, 0, 1, 1]}, {"box": [1, 1, 2, 2]}], "error": None}
    cells = dict(zip(csvrows.COLUMNS, csvrows.csv_cells(row)))
    assert cells == {"path": "'-x.png", "label": "fake", "verdict": "", "p_fake": "0.30000000000000004", "reason": "",
                     "flags": "small;heavy-jpeg", "faces": "2", "error": ""}
    assert csvrows.defuse("@") == "'@" and csvrows.defuse("") == "" and csvrows.defuse("a=b") == "a=b"
