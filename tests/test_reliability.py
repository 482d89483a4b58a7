"""Issue 16, reliable in the real world: one CSV rule for the CLI and the page, a queue that cannot stall,
the worker's policy on a header-less host, updates that keep offline use, and the smaller ones."""

import csv
import io

import pytest

from browser_helpers import drop_files, wait_all_workers, wait_ready
from conftest import encode, texture, write_model
from facespectra import cli
from facespectra.runtime import csvrows

# File names a spreadsheet would run as formulas (or shift into one): every one must come out as text.
HOSTILE_NAMES = ['=HYPERLINK("http:__x","y").jpg', "+1.jpg", "-2.jpg", "@sum.jpg", "\ttab.jpg", "\rcr.jpg"]
ONE_CORE = "Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', {get: () => 1});"


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


def open_page(browser, url, init_script=None, **context_kw):
    """A fresh context whose init script runs before the page's own scripts, then the app."""
    context = browser.new_context(**context_kw)
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.goto(url)
    return page


def labelled_count(page):
    return page.locator("[data-testid=result][data-label]").count()


@pytest.mark.browser
def test_why_mid_batch_on_one_worker_does_not_stall_the_batch(browser, server):
    """Problem 2: one core (navigator.hardwareConcurrency = 1, so one worker): "Why?" clicked on a finished
    row while the batch runs gets its explanation, and the batch still finishes with Clear and Export on."""
    page = open_page(browser, server.base_url, ONE_CORE, bypass_csp=True)
    try:
        wait_ready(page)
        wait_all_workers(page)
        assert page.locator("[data-testid=status]").get_attribute("data-workers") == "1/1"
        batch = [(f"one-{i:02d}.jpg", encode(texture(640, seed=900 + i), "JPEG", quality=85)) for i in range(30)]
        drop_files(page, batch)
        page.wait_for_function("() => document.querySelectorAll('[data-testid=result][data-label]').length >= 2")
        page.get_by_role("button", name="Why?").first.click()
        assert labelled_count(page) < len(batch), "the batch finished before Why? could be clicked mid-batch"
        page.wait_for_selector("[data-testid=explanation][data-state=ready]", timeout=60_000)
        page.wait_for_selector("#batch[hidden]", state="attached", timeout=60_000)
        assert labelled_count(page) == len(batch)
        assert page.locator("[data-testid=clear]").is_enabled() and page.locator("[data-testid=export]").is_enabled()
    finally:
        page.context.close()
