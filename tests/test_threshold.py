"""The cross-validated decision threshold: it corrects a model that leans to one class, it is not
fooled by one lucky grid point, and it is chosen from training images only."""

from types import SimpleNamespace

import numpy as np
import pytest

from facespectra import cli
from facespectra.train import search
from facespectra.train.evaluate import CONDITIONS
from facespectra.train.featuretable import FeatureTable
from facespectra.train.train import decide_threshold

NO_CLASS_WEIGHTS = {"l2": 1e-3, "lr": 1.0, "max_iter": 2000, "tol": 1e-6, "class_weight": None}


def shifted_table(n_real, n_fake, seed=0):
    """Two Gaussian classes 2 standard deviations apart, one row per item and evaluation condition."""
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(n_real, int), np.ones(n_fake, int)]
    base = rng.normal(size=(len(labels), 2)) + 2.0 * labels[:, None] * np.array([1.0, 0.0])
    idx, variants, X = [], [], []
    for i in range(len(labels)):
        for v in [CONDITIONS[name](str(i)) for name in (*search.SCORED, "web")]:
            idx.append(i)
            variants.append(v)
            X.append(base[i] + rng.normal(scale=0.1, size=2))
    idx = np.array(idx)
    items = [SimpleNamespace(label=int(c), path=f"{i}.jpg") for i, c in enumerate(labels)]
    return FeatureTable(items=items, hashes=[str(i) for i in range(len(items))], items_idx=idx, variants=variants,
                        labels=labels[idx], X={"c": np.array(X)}, sides=np.full(len(idx), 1024),
                        qualities=np.zeros(len(idx), int), resampling=np.zeros(len(idx)), graphics=np.zeros(len(idx)))


def oof_curve(table, train_items, k=4):
    folds = search.stratified_folds(np.array([it.label for it in table.items]), k, seed=0, include=train_items)
    is_train_row = np.ones(len(table.items_idx), dtype=bool)
    score, _, oof, _, _ = search.cv_score(table, "c", NO_CLASS_WEIGHTS, train_items, is_train_row, folds, k)
    return score, search.threshold_curve(oof)


@pytest.mark.parametrize("n_real, n_fake, direction", [(300, 100, -1), (100, 300, +1)])
def test_threshold_moves_against_the_majority_and_scores_higher(n_real, n_fake, direction):
    # unweighted logistic regression leans to the majority class; the threshold must lean back
    table = shifted_table(n_real, n_fake)
    score, curve = oof_curve(table, np.ones(n_real + n_fake, dtype=bool))
    half = search.THRESHOLDS.index(0.5)
    assert curve[half] == pytest.approx(score)  # the curve at 0.5 is cv_score's own number
    t = search.choose_threshold(curve)
    assert np.sign(t - 0.5) == direction
    assert curve[search.THRESHOLDS.index(t)] > curve[half]


def test_balanced_classes_keep_one_half():
    table = shifted_table(200, 200)
    _, curve = oof_curve(table, np.ones(400, dtype=bool))
    assert search.choose_threshold(curve) == 0.5


def test_held_out_rows_do_not_change_the_choice():
    table = shifted_table(300, 100)
    train_items = np.random.default_rng(1).random(400) > 0.25
    before = search.run(table, {"c": None}, train_items, np.ones(len(table.items_idx), dtype=bool))[2]
    held_out_rows = ~train_items[table.items_idx]
    table.X["c"][held_out_rows] = np.random.default_rng(2).normal(scale=50.0, size=(held_out_rows.sum(), 2))
    after = search.run(table, {"c": None}, train_items, np.ones(len(table.items_idx), dtype=bool))[2]
    assert [(r["threshold"], r["threshold_curve"]) for r in after] == [(r["threshold"], r["threshold_curve"])
                                                                      for r in before]


def curve_with(values, base=0.9):
    """A CV curve over THRESHOLDS: base everywhere except at the given thresholds."""
    return np.array([values.get(t, base) for t in search.THRESHOLDS])


def test_flat_curve_and_ties_go_to_one_half():
    assert search.choose_threshold(curve_with({})) == 0.5
    assert search.choose_threshold(curve_with({0.3: 0.95, 0.5: 0.95})) == 0.5


def test_the_middle_of_the_best_plateau_is_chosen():
    plateau = {t: 0.95 for t in (0.2, 0.25, 0.3, 0.35, 0.4)}
    assert search.choose_threshold(curve_with(plateau)) == 0.3
    # a broad rise beats one higher but lone point
    assert search.choose_threshold(curve_with({0.75: 0.99, 0.25: 0.96, 0.3: 0.96, 0.35: 0.96})) == 0.3


def test_no_move_unless_the_chosen_point_itself_beats_one_half():
    # its neighbours lift 0.3's smoothed score, but 0.3 itself scores below 0.5
    assert search.choose_threshold(curve_with({0.25: 0.96, 0.3: 0.85, 0.35: 0.96})) == 0.5


def test_decide_threshold_records_how_it_was_chosen():
    result = {"threshold": 0.35, "cv_balanced_accuracy": 0.9, "cv_at_threshold": 0.92,
              "threshold_curve": list(curve_with({0.35: 0.92}))}
    cv = decide_threshold("cv", [result])
    assert cv["value"] == 0.35 and cv["source"] == "cross-validation" and cv["cv_at_0.5"] == 0.9
    fixed = decide_threshold(0.6, [result])
    assert fixed["value"] == 0.6 and fixed["cv_choice"] == 0.35
    assert decide_threshold("cv", [])["value"] == 0.5


def test_train_help_explains_the_threshold_and_bad_values_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--threshold {cv,NUMBER}" in text and "stored in the weights" in text and "it is 0.5" in text
    for bad in ("1.5", "0", "nan", "high"):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["train", "data", "--threshold", bad])
        assert exit_.value.code == 2 and "expected 'cv' or a number between 0 and 1" in capsys.readouterr().err
