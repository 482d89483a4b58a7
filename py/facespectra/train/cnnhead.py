"""The second detector trained like the first: a logistic head (the project's solver) on the pretrained CNN's
pooled features (runtime/effnet.py), fitted on real photos and the seed generator's fakes in every fitted
condition (JPEG re-saves, web-style, small, 512 and 768 px, the fitted everyday edits).

Not on the synthetic fakes: they are real photos up-sampled, traces the spectral model reads and a network
looking at a face's appearance cannot; trained on them as "generated", the head learnt to doubt real faces
(out of fold with the trainer's folds, AUC 0.77-0.83 per condition with them, 0.86-0.97 without, small
images aside). The verdict rule still counts them against every "real" it gives (rule.py), so the head
cannot vouch for them.
"""

import numpy as np

from ..runtime.cnn import CnnHead, network_spec
from .evaluate import CONDITIONS, HELD_OUT_CONDITIONS, condition_rows
from .logistic import LogisticRegression

# Out of fold (the trainer's folds, the rule over both), 1e-2 decided 84% / 10% of the fakes as distributed /
# at 512 px, 1e-3 80% / 8%
L2 = 1e-2
SOLVER = {"l2": L2, "max_iter": 3000, "tol": 1e-5}


def head_rows(table, items_mask):
    """The rows a head is fitted on: the chosen items' rows in every fitted condition, no synthetic fake."""
    rows = np.zeros(len(table.labels), dtype=bool)
    for name in CONDITIONS:
        if name not in HELD_OUT_CONDITIONS:
            rows |= condition_rows(table, items_mask, name)
    return rows & ~table.synthetic & np.isfinite(table.cnn).all(axis=1)


def fit_head(table, items_mask):
    """-> (CnnHead without a rule, the fitted solver) on the chosen items' head rows."""
    rows = head_rows(table, items_mask)
    clf = LogisticRegression(**SOLVER).fit(table.cnn[rows], table.labels[rows])
    return CnnHead(clf.mean_, clf.scale_, clf.coef_, clf.intercept_, network_spec()), clf


def out_of_fold(table, train_items, folds, k, progress=None):
    """Each training image's rows scored by the head fitted without its fold (NaN elsewhere): what the verdict
    rule over both detectors is fitted on."""
    logits = np.full(len(table.labels), np.nan)
    has = np.isfinite(table.cnn).all(axis=1)
    for f in range(k):
        head, _ = fit_head(table, train_items & (folds != f))
        val = train_items[table.items_idx] & (folds == f)[table.items_idx] & has
        logits[val] = head.logit(table.cnn[val])
        if progress:
            progress(f)
    return logits
