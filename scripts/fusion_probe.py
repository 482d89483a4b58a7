#!/usr/bin/env python3
"""Does the CNN (runtime/effnet.py) add safe verdicts? Spectral alone, CNN alone and both, out of fold.

    python scripts/fusion_probe.py [--data ../shared/data/seed-faces] [--jobs 2]

On the training images of the weights' own split (train.split_items with the provenance's fraction and seed;
the held-out images take no part), 4-fold cross-validation by image with the trainer's folds
(search.stratified_folds, seed 0):
- the spectral model is fitted per fold as search.cv_score fits it (the shipped config and solver settings, on
  the training plan's variants: JPEG re-saves, crops and downscales, synthetic fakes);
- the CNN head (a logistic regression, the project's solver, L2 1e-2, on the 2024 pooled features) is fitted
  per fold on the other folds' rows of every fitted condition (JPEG, web-style, small, 512 and 768 px, the
  fitted everyday edits, edited synthetic fakes) and their synthetic fakes: never on the held-out edit kinds;
- each validation row gets both out-of-fold logits, and three rules are chosen and judged by train/rule.py's
  machinery (choose_rule: each fold judged by the rule fitted without it, under the 95% Clopper-Pearson
  promise): on the spectral logit alone, on the CNN logit alone, and fused: per regime a class-balanced
  2-input Platt calibration of both logits, the same thresholds, and "real" only where neither detector's
  own calibrated p (its own 1-input Platt in that regime) is at least 0.5.
Two probe-only conditions are added beside evaluate.CONDITIONS and fitted like web-style: every image
downscaled to 512 px and to 768 px, JPEG q70-95 (drawn per image), the issue's done-when sizes.

Features are cached: the spectral ones and the rule's facts in the trainer's cache (.cache/features, the
same keys, so a retrain reads them), the CNN's in .cache/effnet_features (keyed by the file's content hash,
the variant, the feature spec and the sha256 of effnet.npz). Prints, per condition, coverage (real / fake)
and confident errors (count of n, 95% upper bound) for each rule, and writes them as JSON (--out). A
first run extracts about 6,900 CNN rows: about 20 minutes on 2 busy cores; later runs about 2 minutes.

Result (2026-12-07, weights/model.json's split and search choice): the CNN's out-of-fold AUC is 0.77-0.83 in
every condition, and at 512 and 768 px no rule, CNN alone or fused, decides any image at the promise: at most
1-2% of the fakes and 5-6% of the reals there lie beyond every image of the other class on the CNN's logit
(10/7% at 512 px and 2/16% at 768 px on the sum of both logits), against the issue's 40% / 15%. At full size
the fused rule adds 1-4% of the reals but decides fewer fakes than the spectral rule alone (33% against 46%
as distributed). So the page does not ship the CNN (build.py).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # a busy 2-core host: threaded BLAS is several times slower

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "py"), str(ROOT / "tests")]

from conftest import SEED_DATA  # noqa: E402
from facespectra.runtime import decode, effnet  # noqa: E402
from facespectra.runtime.errors import InputError  # noqa: E402
from facespectra.runtime.spectrum import extract, fine_detail  # noqa: E402
from facespectra.runtime.verdict import REGIMES, sigmoid  # noqa: E402
from facespectra.train import augment, evaluate, rule as rulemod, search  # noqa: E402
from facespectra.train.augment import AugmentPlan, Variant, image_rng  # noqa: E402
from facespectra.train.dataset import discover  # noqa: E402
from facespectra.train.edits import QUALITY_RANGE  # noqa: E402
from facespectra.train.featcache import FeatureCache, entry_key, file_hash  # noqa: E402
from facespectra.train.featuretable import _facts  # noqa: E402
from facespectra.train.logistic import LogisticRegression  # noqa: E402
from facespectra.train.train import split_items  # noqa: E402

FOLDS, SEED = 4, 0
CNN_L2 = 1e-2
CNN_CACHE = ROOT / ".cache" / "effnet_features"
SIZES = (512, 768)


def _sized(side, salt):
    def make(content_hash):
        rng = image_rng(content_hash, salt)
        return Variant(side=side, quality=int(rng.integers(QUALITY_RANGE[0], QUALITY_RANGE[1] + 1)))
    return make


# Probe-only conditions, registered beside the trainer's (this process only), before any is drawn.
for _side, _salt in zip(SIZES, (130, 131)):
    evaluate.CONDITIONS[f"px{_side}"] = _sized(_side, _salt)


def cnn_spec():
    digest = hashlib.sha256(effnet.WEIGHTS.read_bytes()).hexdigest()
    return {"size": effnet.SIZE, "stages": list(effnet.STAGES), "spread": effnet.SPREAD, "gray": "luma",
            "effnet_sha256": digest}


def cnn_key(content_hash, variant, spec):
    text = json.dumps({"file": content_hash, "variant": variant.key(), "cnn": spec}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _task(args):
    """One image: every wanted variant's spectral features, and for rule rows its facts and CNN features."""
    path, content_hash, wanted, config, spec = args  # wanted: [(variant, needs_rule_row)]
    cache, cnn_cache = FeatureCache(ROOT / ".cache" / "features"), FeatureCache(CNN_CACHE)
    data, out = None, []
    for v, rule_row in wanted:
        keys = (entry_key(content_hash, config, v), entry_key(content_hash, None, v), cnn_key(content_hash, v, spec))
        spec_f = cache.get(keys[0])
        facts = cache.get(keys[1]) if rule_row else None
        cnn = cnn_cache.get(keys[2]) if rule_row else None
        if spec_f is None or (rule_row and (facts is None or cnn is None)):
            try:
                if data is None:
                    data = Path(path).read_bytes()
                vbytes = augment.apply(data, v)
                if spec_f is None:
                    spec_f = extract(vbytes, config)
                    cache.put(keys[0], spec_f)
                if rule_row and facts is None:
                    facts = _facts(vbytes)
                    cache.put(keys[1], facts)
                if rule_row and cnn is None:
                    cnn = effnet.features(decode.load(vbytes))
                    cnn_cache.put(keys[2], cnn.astype(np.float32))
            except (InputError, OSError) as exc:
                return None, f"{v.key()}: {exc}"
        out.append((spec_f, facts, cnn))
    return out, None


class Table:
    """search.cv_score's FeatureTable interface, plus the CNN's features (NaN outside the rule rows)."""


def build_table(items, train_items, plan, config_name, config, jobs):
    spec = cnn_spec()
    tasks, meta = [], []
    for i, it in enumerate(items):
        if not train_items[i]:
            continue
        h = file_hash(it.path)
        planned = plan.variants(h, it.label)
        conds = evaluate.condition_variants(h)
        wanted = {v: bool(v.upsampler) for v in planned}  # the plan's synthetic fakes are rule rows ("synthetic")
        for v in conds:
            wanted[v] = True
        meta.append((i, h, set(planned)))
        tasks.append((str(it.path), h, list(wanted.items()), config, spec))
    t0 = time.time()
    results = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for n, res in enumerate(pool.map(_task, tasks, chunksize=1)):
            results.append(res)
            if n % 25 == 0:
                print(f"  features: {n}/{len(tasks)} images, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    t = Table()
    t.items, t.hashes = list(items), [None] * len(items)
    idx, variants, labels, X, facts, C, planned_flags = [], [], [], [], [], [], []
    for (i, h, planned), task, (out, err) in zip(meta, tasks, results):
        t.hashes[i] = h
        if err is not None:
            print(f"skipped {items[i].path}: {err}", file=sys.stderr)
            continue
        for (v, rule_row), (sf, fa, cn) in zip(task[2], out):
            idx.append(i)
            variants.append(v)
            labels.append(v.label(items[i].label))
            X.append(sf)
            facts.append(fa if fa is not None else np.full(3, np.nan))
            C.append(cn if cn is not None else np.full(effnet.N_FEATURES, np.nan, dtype=np.float32))
            planned_flags.append(v in planned)
    t.items_idx, t.variants, t.labels = np.array(idx), variants, np.array(labels)
    t.X = {config_name: np.array(X)}
    facts = np.array(facts)
    t.sides = np.nan_to_num(facts[:, 0]).astype(int)
    t.qualities = np.nan_to_num(facts[:, 1]).astype(int)
    t.resampling = facts[:, 2]
    t.cnn = np.array(C, dtype=np.float64)
    return t, np.array(planned_flags)


def oof_rows(table, config_name, params, train_items, is_train_row, folds):
    """search.cv_score's out-of-fold rule rows, each with its CNN head's out-of-fold logit ("cnn_logit")."""
    X, y = table.X[config_name], table.labels
    detail = fine_detail(X, search.CANDIDATES[config_name])
    fitted = [n for n in evaluate.CONDITIONS if n not in evaluate.HELD_OUT_CONDITIONS]
    upsampler = np.array([v.upsampler for v in table.variants])
    synthetic_rows = upsampler != ""  # as search.cv_score: the plan's synthetic fakes and the edited ones
    cond_rows = {n: evaluate.condition_rows(table, train_items, n) for n in evaluate.CONDITIONS}
    cnn_train = np.zeros(len(y), dtype=bool)
    for n in fitted:
        cnn_train |= cond_rows[n]
    cnn_train |= synthetic_rows
    rule_rows = {}
    for f in range(FOLDS):
        fit_items = train_items & (folds != f)
        val_items = train_items & (folds == f)
        rows = is_train_row & fit_items[table.items_idx]
        clf = LogisticRegression(**params).fit(X[rows], y[rows])
        crow = cnn_train & fit_items[table.items_idx]
        t0 = time.time()
        head = LogisticRegression(l2=CNN_L2, max_iter=3000, tol=1e-5).fit(table.cnn[crow], y[crow])
        print(f"  fold {f}: spectral on {rows.sum()} rows, CNN head on {crow.sum()} rows "
              f"({head.n_iter_} iterations, {time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
        parts = [(n, cond_rows[n] & val_items[table.items_idx]) for n in evaluate.CONDITIONS]
        parts.append((rulemod.SYNTHETIC, synthetic_rows & val_items[table.items_idx]))
        for n, vr in parts:
            if vr.any():
                r = search._rule_rows(clf, table, X, detail, vr, f)
                r["cnn_logit"] = head.decision_function(table.cnn[vr])
                rule_rows.setdefault(n, []).append(r)
    return {n: {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} for n, parts in rule_rows.items()}


# --- the fused rule: train/rule.py's fit_rule and _verdicts with a 2-input Platt and the veto on "real" ---

def platt2(z1, z2, y, l2=1e-3, iters=100):
    """(a1, a2, b) with p = sigmoid(a1 z1 + a2 z2 + b): class-balanced, Newton with step halving, a small pull
    of (a1, a2) towards (0.5, 0.5) keeps separable data finite."""
    Z = np.c_[z1, z2, np.ones(len(z1))]
    y = np.asarray(y, dtype=np.float64)
    w = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    prior = np.array([0.5, 0.5, 0.0])
    reg = np.array([l2, l2, 0.0])

    def loss(th):
        t = Z @ th
        return float(w @ (np.logaddexp(0, t) - y * t) + 0.5 * reg @ (th - prior) ** 2)

    th = prior.copy()
    for _ in range(iters):
        p = sigmoid(Z @ th)
        grad = Z.T @ (w * (p - y)) + reg * (th - prior)
        hess = (Z * (w * p * (1 - p))[:, None]).T @ Z + np.diag(reg + 1e-12)
        step = np.linalg.solve(hess, grad)
        before, scale = loss(th), 1.0
        while scale > 1e-6 and loss(th - scale * step) > before:
            scale /= 2
        th = th - scale * step
        if np.abs(scale * step).max() < 1e-10:
            break
    return [float(v) for v in th]


def _fused_p(part, z1, z2):
    a1, a2, b = part["platt2"]
    p = sigmoid(a1 * np.asarray(z1) + a2 * np.asarray(z2) + b)
    own = [sigmoid(part["platt_spectral"][0] * np.asarray(z1) + part["platt_spectral"][1]),
           sigmoid(part["platt_cnn"][0] * np.asarray(z2) + part["platt_cnn"][1])]
    veto = (own[0] >= 0.5) | (own[1] >= 0.5)  # either detector leans "generated": never "real"
    return p, veto


def fit_rule_fused(rows, setting, withheld=()):
    rows = rulemod._fitted(rows)
    names = list(rows)
    cat = {k: np.concatenate([rows[n][k] for n in names]) for k in ("y", "logit", "cnn_logit", "distance")}
    cond = np.concatenate([[n] * len(rows[n]["y"]) for n in names])
    flag = rulemod.resampling_flag(rows, setting.quantile)
    reg = np.concatenate([rulemod._regimes(flag, rows[n]) for n in names])
    photos = np.concatenate([rows[n]["distance"] for n in names if n != rulemod.SYNTHETIC])
    rule = {"regimes": {}, "max_distance": float(np.quantile(photos, rulemod.DISTANCE_QUANTILE)),
            "resampling_threshold": flag, "target": setting.target, "margin": setting.margin}
    for name in REGIMES:
        m = reg == name
        y, z1, z2 = cat["y"][m], cat["logit"][m], cat["cnn_logit"][m]
        if min((y == 0).sum(), (y == 1).sum()) < rulemod.MIN_PER_CLASS:
            rule["regimes"][name] = {"platt2": [0.0, 0.0, 0.0], "platt_spectral": [1.0, 0.0], "platt_cnn": [1.0, 0.0],
                                     "t_fake": None, "t_real": None}
            continue
        part = {"platt2": platt2(z1, z2, y), "platt_spectral": list(rulemod.platt(z1, y)),
                "platt_cnn": list(rulemod.platt(z2, y))}
        p, veto = _fused_p(part, z1, z2)
        p_real = np.where(veto, 1.0, p)  # what the "real" side sees: a vetoed image is never called real
        reals, fakes = [], []
        for c in names:
            mc = cond[m] == c
            if (mc & (y == 0)).sum() >= rulemod.MIN_PER_CLASS:
                reals.append(p[mc & (y == 0)])
            if (mc & (y == 1)).sum() >= rulemod.MIN_PER_CLASS:
                fakes.append(p_real[mc & (y == 1)])
        both = bool(reals and fakes)
        part["t_fake"] = (rulemod._threshold(p, reals, p[y == 1], "fake", setting)
                          if both and (name, "fake") not in withheld else None)
        part["t_real"] = (rulemod._threshold(p_real, fakes, p_real[y == 0], "real", setting)
                          if both and (name, "real") not in withheld else None)
        rule["regimes"][name] = part
    return rule


def verdicts_fused(rule, r):
    regs = rulemod._regimes(rule, r)
    out = np.empty(len(regs), dtype=object)
    for i, name in enumerate(regs):
        part = rule["regimes"][name]
        p, veto = _fused_p(part, r["logit"][i], r["cnn_logit"][i])
        p, veto = float(p), bool(veto)
        if r["distance"][i] > rule["max_distance"]:
            out[i] = "uncertain"
        elif part["t_fake"] is not None and p >= part["t_fake"]:
            out[i] = "fake"
        elif part["t_real"] is not None and p <= part["t_real"] and not veto:
            out[i] = "real"
        else:
            out[i] = "uncertain"
    return out, regs


def choose(rows, kind):
    """train/rule.py's choose_rule on one kind of rule: "spectral", "cnn" or "fused"."""
    if kind == "cnn":
        rows = {n: {**r, "logit": r["cnn_logit"]} for n, r in rows.items()}
    saved = rulemod.fit_rule, rulemod._verdicts
    if kind == "fused":  # the same machinery (cross_validated, choose_rule) over the fused fit and verdicts
        rulemod.fit_rule, rulemod._verdicts = fit_rule_fused, verdicts_fused
    try:
        setting, withheld, metrics = rulemod.choose_rule(rows)
        final = rulemod.fit_rule(rows, setting, withheld)
    finally:
        rulemod.fit_rule, rulemod._verdicts = saved
    return setting, withheld, metrics, final


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SEED_DATA)
    parser.add_argument("--weights", type=Path, default=ROOT / "weights" / "model.json")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, help="only the first N training images (a smoke test)")
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "fusion_probe.json")
    args = parser.parse_args(argv)
    weights = json.loads(args.weights.read_text())
    split = weights["provenance"]["split"]
    best = weights["provenance"]["search"][0]
    config_name, params = best["config"], best["params"]
    config = search.CANDIDATES[config_name]
    plan = AugmentPlan(**weights["provenance"]["augmentation"])
    items = discover([args.data])
    labels = np.array([it.label for it in items])
    train_items = ~split_items(labels, split["test_fraction"], split["seed"])
    folds = search.stratified_folds(labels, FOLDS, SEED, include=train_items)
    if args.limit:
        train_items &= np.cumsum(train_items) <= args.limit
    print(f"{train_items.sum()} training images ({labels[train_items].sum()} fake), {FOLDS}-fold CV by image; "
          f"spectral {config_name} {params}; CNN head L2 {CNN_L2} on {effnet.N_FEATURES} features", flush=True)
    table, is_train_row = build_table(items, train_items, plan, config_name, config, args.jobs)
    rows = oof_rows(table, config_name, params, train_items, is_train_row, folds)
    for n, r in rows.items():
        if n in evaluate.CONDITIONS or n == rulemod.SYNTHETIC:
            y = r["y"]
            if 0 < y.sum() < len(y):
                print(f"  {n:22s} AUC spectral {evaluate.auc(y, r['logit']):.3f}  CNN {evaluate.auc(y, r['cnn_logit']):.3f}"
                      f"  sum {evaluate.auc(y, r['logit'] + r['cnn_logit']):.3f};  clear of every other-class image, "
                      f"fakes/reals: CNN {_clear(y, r['cnn_logit'])}, sum {_clear(y, r['logit'] + r['cnn_logit'])}",
                      flush=True)
    results = {}
    for kind in ("spectral", "cnn", "fused"):
        t0 = time.time()
        setting, withheld, metrics, final = choose(rows, kind)
        results[kind] = {"setting": setting.__dict__, "withheld": [list(w) for w in withheld], "metrics": metrics,
                         "rule": final}
        print(f"{kind}: {setting}, withheld {list(withheld)} ({time.time() - t0:.0f} s)", flush=True)
    print_table(rows, results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=float))
    print(f"written: {args.out}")


def _cell(m):
    if m is None:
        return "–"
    err = (f"{m['real_called_fake']}/{m['n_real']} (≤{100 * m['bound_error_real']:.1f}%)" if m["n_real"] else "–")
    err += " · " + (f"{m['fake_called_real']}/{m['n_fake']} (≤{100 * m['bound_error_fake']:.1f}%)" if m["n_fake"] else "–")
    cov = f"{100 * m['coverage_real']:.0f}/{100 * m['coverage_fake']:.0f}%".replace("nan", "–")
    return f"{cov} {err}"


def print_table(rows, results):
    """Per condition and rule: coverage real / fake, then confident errors real called generated / fake called
    real (count of n, 95% upper bound); (not fitted on) marks the held-out edit kinds."""
    print("\ncoverage real/fake %, confident errors real·fake (count/n, 95% upper bound), out of fold")
    print("| condition | spectral | CNN | fused |")
    print("| --- | --- | --- | --- |")
    for n in rows:
        label = f"{n} (not fitted on)" if n in evaluate.HELD_OUT_CONDITIONS else n
        print(f"| {label} | " + " | ".join(_cell(results[k]["metrics"].get(n)) for k in ("spectral", "cnn", "fused")) + " |")
    for kind in ("spectral", "cnn", "fused"):
        regs = results[kind]["rule"]["regimes"]
        print(f"{kind} thresholds: " + ", ".join(f"{n} {_t(p['t_fake'])}/{_t(p['t_real'])}" for n, p in regs.items()))


def _clear(y, z):
    """The share of fakes above every real and of reals below every fake (%): what any threshold on this one
    score could call without a single confident error in this condition (a ceiling for the rule's coverage)."""
    fakes, reals = z[y == 1], z[y == 0]
    return f"{100 * np.mean(fakes > reals.max()):.0f}/{100 * np.mean(reals < fakes.min()):.0f}%"


def _t(t):
    return "–" if t is None else f"{t:.3g}"


if __name__ == "__main__":
    main()
