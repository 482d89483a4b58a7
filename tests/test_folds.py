"""Cross-validation folds are drawn over the training images only: the held-out split takes no part
in the draw, so its labels (or its very presence) cannot change which training images share a fold."""

from types import SimpleNamespace

import numpy as np
import pytest

from facespectra.train import search
from facespectra.train.augment import Variant
from facespectra.train.featuretable import FeatureTable

from test_threshold import shifted_table


def labels_and_split(n_real=301, n_fake=149, held_out=0.25, seed=3):
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.r_[np.zeros(n_real, int), np.ones(n_fake, int)])
    train = rng.random(len(labels)) >= held_out
    return labels, train


@pytest.mark.parametrize("k", [2, 4, 5])
def test_held_out_items_get_no_fold_and_training_items_get_one(k):
    labels, train = labels_and_split()
    folds = search.stratified_folds(labels, k, seed=0, include=train)
    assert np.all(folds[~train] == -1)
    assert set(folds[train].tolist()) == set(range(k))


@pytest.mark.parametrize("k", [2, 4, 5])
def test_each_class_of_the_training_items_is_spread_evenly(k):
    labels, train = labels_and_split()
    folds = search.stratified_folds(labels, k, seed=0, include=train)
    for c in (0, 1):
        counts = np.bincount(folds[train & (labels == c)], minlength=k)
        assert counts.sum() == np.sum(train & (labels == c))
        assert counts.max() - counts.min() <= 1


def test_held_out_labels_do_not_change_the_training_folds():
    labels, train = labels_and_split()
    folds = search.stratified_folds(labels, 4, seed=0, include=train)
    for flipped in (np.where(train, labels, 1 - labels),  # every held-out label flipped
                    np.where(train, labels, 0),  # every held-out item called real
                    np.where(train, labels, 1)):  # every held-out item called fake
        assert np.array_equal(search.stratified_folds(flipped, 4, seed=0, include=train), folds)


def test_removing_the_held_out_items_does_not_change_the_training_folds():
    labels, train = labels_and_split()
    folds = search.stratified_folds(labels, 4, seed=0, include=train)
    only_train = search.stratified_folds(labels[train], 4, seed=0, include=np.ones(train.sum(), dtype=bool))
    assert np.array_equal(only_train, folds[train])


def test_folds_are_deterministic_for_a_seed_and_depend_on_it():
    labels, train = labels_and_split()
    a = search.stratified_folds(labels, 4, seed=0, include=train)
    assert np.array_equal(a, search.stratified_folds(labels, 4, seed=0, include=train))
    assert not np.array_equal(a, search.stratified_folds(labels, 4, seed=1, include=train))


def comparable(results):
    return [(r["config"], r["params"], r["cv_balanced_accuracy"], r["per_condition"], r["threshold"],
             r["threshold_curve"]) for r in results]


def test_search_is_blind_to_the_held_out_labels():
    # the whole search, not just the helper: flipping the held-out items' labels changes nothing
    table = shifted_table(240, 120)
    train_items = np.random.default_rng(1).random(len(table.items)) > 0.25
    all_rows = np.ones(len(table.items_idx), dtype=bool)
    before = search.run(table, {"c": None}, train_items, all_rows)[2]
    for i, it in enumerate(table.items):
        if not train_items[i]:
            it.label = 1 - it.label
    held_out_rows = ~train_items[table.items_idx]
    table.labels[held_out_rows] = 1 - table.labels[held_out_rows]
    after = search.run(table, {"c": None}, train_items, all_rows)[2]
    assert comparable(after) == comparable(before)


def test_search_gives_the_same_results_without_the_held_out_items():
    table = shifted_table(240, 120)
    train_items = np.random.default_rng(1).random(len(table.items)) > 0.25
    full = search.run(table, {"c": None}, train_items, np.ones(len(table.items_idx), dtype=bool))[2]

    keep_rows = train_items[table.items_idx]
    new_index = np.cumsum(train_items) - 1
    items = [SimpleNamespace(label=it.label, path=it.path) for it, t in zip(table.items, train_items) if t]
    sub = FeatureTable(items=items, hashes=[h for h, t in zip(table.hashes, train_items) if t],
                       items_idx=new_index[table.items_idx[keep_rows]],
                       variants=[v for v, keep in zip(table.variants, keep_rows) if keep],
                       labels=table.labels[keep_rows], X={"c": table.X["c"][keep_rows]},
                       sides=table.sides[keep_rows], qualities=table.qualities[keep_rows],
                       resampling=table.resampling[keep_rows], graphics=table.graphics[keep_rows])
    alone = search.run(sub, {"c": None}, np.ones(len(items), dtype=bool), np.ones(keep_rows.sum(), dtype=bool))[2]
    assert comparable(alone) == comparable(full)


def with_synthetic_fakes(table, seed=0):
    """One "nearest" fake per real photo that looks like the fakes, and one "bilinear" that looks real."""
    rng = np.random.default_rng(seed)
    reals = [i for i, it in enumerate(table.items) if it.label == 0]
    rows = [(i, Variant(upsampler=kind, seed=i), np.array([2.0 * (kind == "nearest"), 0.0]) + rng.normal(size=2))
            for i in reals for kind in ("nearest", "bilinear")]
    return FeatureTable(items=table.items, hashes=table.hashes,
                        items_idx=np.r_[table.items_idx, [i for i, _, _ in rows]],
                        variants=table.variants + [v for _, v, _ in rows],
                        labels=np.r_[table.labels, np.ones(len(rows), int)],
                        X={"c": np.vstack([table.X["c"], [x for _, _, x in rows]])},
                        sides=np.r_[table.sides, np.full(len(rows), 1024)],
                        qualities=np.r_[table.qualities, np.zeros(len(rows), int)],
                        resampling=np.r_[table.resampling, np.zeros(len(rows))],
                        graphics=np.r_[table.graphics, np.zeros(len(rows))])


def test_synthetic_fakes_of_each_training_photo_are_scored_once_out_of_fold():
    table = with_synthetic_fakes(shifted_table(160, 80))
    train_items = np.random.default_rng(2).random(len(table.items)) > 0.25
    folds = search.stratified_folds(np.array([it.label for it in table.items]), 4, 0, include=train_items)
    params = {"l2": 1e-3, "lr": 1.0, "max_iter": 2000, "tol": 1e-6, "class_weight": None}
    _, _, _, synthetic, _ = search.cv_score(table, "c", params, train_items, np.ones(len(table.items_idx), dtype=bool),
                                         folds, 4)
    n_train_reals = sum(t and it.label == 0 for t, it in zip(train_items, table.items))
    assert {kind: len(p) for kind, p in synthetic.items()} == {"bilinear": n_train_reals, "nearest": n_train_reals}
    # each family is scored by the fold's model: the fake-looking family is called fake, the other is not
    assert np.mean(synthetic["nearest"] >= 0.5) > 0.7 > 0.3 > np.mean(synthetic["bilinear"] >= 0.5)
    result = search.run(table, {"c": None}, train_items, np.ones(len(table.items_idx), dtype=bool))[2][0]
    assert set(result["synthetic_recall"]) == {"bilinear", "nearest"}
