"""`facespectra predict`: one CSV row per file, broken files included, full-precision probabilities."""

import csv
import io
from pathlib import Path


from conftest import encode, texture, write_model
from facespectra import cli
from facespectra.runtime import csvrows
from facespectra.runtime.spectrum import extract



def test_predict_a_folder_with_one_broken_file_writes_a_row_for_every_file(tmp_path, capsys):
    model = write_model(tmp_path / "w.json")
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    good = {
        folder / "a.jpg": encode(texture(128, seed=1), "JPEG", quality=80),
        folder / "sub" / "b.png": encode(texture(100, seed=2), "PNG"),
    }
    for path, data in good.items():
        path.write_bytes(data)
    (folder / "broken.jpg").write_bytes(encode(texture(128, seed=3), "JPEG")[:200])
    assert cli.main(["predict", str(folder), "--weights", str(tmp_path / "w.json")]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["path"] for r in rows] == [str(folder / "a.jpg"), str(folder / "broken.jpg"), str(folder / "sub" / "b.png")]
    broken = rows[1]
    assert broken["label"] == "error" and broken["p_fake"] == "" and "truncated" in broken["error"].lower()
    for r in (rows[0], rows[2]):
        p = float(model.predict_proba(extract(good[Path(r["path"])], model.config))[0, 1])
        assert float(r["p_fake"]) == p  # repr round-trips: full precision
        assert r["label"] == r["verdict"] == "uncertain" and r["error"] == ""  # one answer: no face in a texture
    assert list(rows[0]) == list(csvrows.COLUMNS)  # the page's CSV columns
    assert rows[2]["flags"] == "small" and rows[1]["flags"] == ""  # 100 px; an error has no flags
    assert "1 file(s) could not be classified" in err


def test_predict_writes_csv_file_when_asked(tmp_path):
    write_model(tmp_path / "w.json")
    img = tmp_path / "x.png"
    img.write_bytes(encode(texture(96, seed=4), "PNG"))
    out = tmp_path / "out" / "preds.csv"
    assert cli.main(["predict", str(img), "--weights", str(tmp_path / "w.json"), "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1 and rows[0]["label"] == rows[0]["verdict"] == "uncertain"


def test_predict_with_unusable_weights_exits_2_with_the_reason(tmp_path, capsys):
    (tmp_path / "w.json").write_text('{"format": "facespectra-weights", "version": 7}')
    assert cli.main(["predict", str(tmp_path), "--weights", str(tmp_path / "w.json")]) == 2
    assert "version 7 is not supported" in capsys.readouterr().err
