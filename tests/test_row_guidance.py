"""Issue 23 item 4 and issue 24 item 3, CPython side: a row carries the regime its probability was read in
(the page draws that regime's zones, worker_api.info's "zones") and, for "can't tell", what the person can
do (runtime/advice.py, also a CSV column); a model swap is prepared beside the model in use and committed
or aborted, so a file that fails to prepare changes nothing."""

import json

import pytest

from conftest import encode, texture
from facespectra.runtime import advice, csvrows, facecheck, verdict, worker_api
from facespectra.runtime.explain import model_info
from facespectra.runtime.model import SpectralModel


@pytest.fixture(scope="module")
def shipped():
    from facespectra.api import SHIPPED_WEIGHTS

    return SpectralModel.load(SHIPPED_WEIGHTS)


def test_every_reason_kind_has_advice_and_is_read_back_from_its_text():
    samples = {kind: template.format(side=300, quality=30) for kind, template in verdict.REASONS.items()}
    samples |= {"no_face": facecheck.NO_FACE, "face_small": f"{facecheck.FACE_TOO_SMALL} (40 px)",
                "no_spectrum": facecheck.NO_SPECTRUM, "no_number": verdict.NO_NUMBER}
    for kind, reason in samples.items():
        assert advice.kind(reason) == kind and advice.kind(f"face 2 of 3: {reason}") == kind
        assert advice.advice(reason) == advice.ADVICE[kind]
    assert set(advice.ADVICE) == set(samples)  # no advice without a reason that leads to it
    assert advice.advice(None) is None and advice.advice("something else") is None


def test_rows_carry_their_regime_zones_and_advice(shipped):
    zones = model_info(shipped)["zones"]
    rule = shipped.verdict_rule["regimes"]
    assert zones == {name: {"t_real": rule[name]["t_real"], "t_fake": rule[name]["t_fake"]} for name in verdict.REGIMES}
    cases = {"small": encode(texture(100, seed=1), "PNG"), "heavy": encode(texture(1024, seed=2), "JPEG", quality=20),
             "full": encode(texture(1024, seed=3), "JPEG", quality=90)}
    for name, data in cases.items():
        row = worker_api.check(data, shipped)
        assert row["regime"] == name and row["verdict"] == "uncertain"
        assert row["advice"] == advice.advice(row["reason"]) and row["advice"]
    bad = worker_api.check(b"not an image", shipped)
    assert bad["regime"] is None and bad["advice"] is None


def test_a_rule_less_model_has_zones_only_in_full(shipped):
    bare = SpectralModel.from_dict({**shipped.to_dict(), "verdict_rule": None, "cnn": None, "threshold": 0.55})
    zones = model_info(bare)["zones"]
    assert zones["full"] == {"t_real": pytest.approx(0.45), "t_fake": pytest.approx(0.65)}
    assert all(zones[name] == {"t_real": None, "t_fake": None} for name in verdict.REGIMES if name != "full")


def test_face_summary_reads_p_fake_in_the_regime_of_its_face():
    def opinions(p):
        return {"spectral": p, "cnn": None}

    faces = [{"verdict": "uncertain", "p_fake": 0.3, "regime": "reduced", "reason": "x", "opinions": opinions(0.3)},
             {"verdict": "uncertain", "p_fake": 0.8, "regime": "small", "reason": "y", "opinions": opinions(0.7)},
             {"verdict": "uncertain", "p_fake": None, "regime": None, "reason": "z", "opinions": opinions(None)}]
    summary = facecheck._summary(faces)
    assert (summary["p_fake"], summary["regime"], summary["opinions"]) == (0.8, "small", opinions(0.7))


def test_csv_has_the_advice_column(shipped):
    row = {"path": "a.png", **worker_api.check(encode(texture(100, seed=1), "PNG"), shipped)}
    cells = dict(zip(csvrows.COLUMNS, csvrows.csv_cells(row)))
    assert cells["advice"] == row["advice"] and cells["reason"] == row["reason"]


def _weights(shipped, **changes):
    return json.dumps({**shipped.to_dict(), **changes})


def test_a_swap_is_prepared_then_committed(shipped):
    worker_api.load_model(_weights(shipped))
    before = worker_api._current
    other = _weights(shipped, intercept=shipped.intercept + 3)
    info = json.loads(worker_api.prepare_model_json(other))
    assert info["zones"] and worker_api._current is before  # prepared, warmed up, not in use
    worker_api.commit_model()
    assert worker_api._current is not before and worker_api._current.intercept == shipped.intercept + 3
    with pytest.raises(RuntimeError):
        worker_api.commit_model()  # nothing prepared twice


def test_weights_that_fail_to_prepare_change_nothing(shipped):
    """Weights that pass the check but make info() raise (a reference that is no list): before, load_model_json
    had already made them the worker's model; now the model in use stays and nothing is kept."""
    worker_api.load_model(_weights(shipped))
    before = worker_api._current
    broken = _weights(shipped, intercept=shipped.intercept + 3, reference={**shipped.reference, "mean_other": 5})
    try:
        SpectralModel.loads(broken)
    except Exception:
        pytest.skip("the weights check now refuses this file before it is prepared")
    answer = json.loads(worker_api.prepare_model_json(broken))
    assert "cannot be prepared" in answer["error"] and worker_api._current is before
    with pytest.raises(RuntimeError):
        worker_api.commit_model()


@pytest.mark.parametrize("field, value", [("intercept", float("nan")), ("threshold", True)])
def test_hostile_weights_are_refused_at_prepare_and_aborted(shipped, field, value):
    worker_api.load_model(_weights(shipped))
    before = worker_api._current
    answer = json.loads(worker_api.prepare_model_json(_weights(shipped, **{field: value})))
    assert field in answer["error"] and worker_api._current is before
    worker_api.abort_model()
    assert worker_api._current is before
