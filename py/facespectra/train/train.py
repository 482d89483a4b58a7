"""`facespectra train` and `facespectra evaluate`: data -> augmented features -> CV search -> logistic model -> weights + report.

The split is by source image and made before augmentation, so no image (nor any variant of
it, nor a synthetic fake made from it) appears on both sides. The shipped weights are the
model fitted on the training split, so the held-out numbers describe exactly those weights.
The decision threshold is chosen by the same cross-validation, on training images only.
"""

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from tqdm import tqdm

from . import cnnhead, featuretable, search
from .atomic import write_text_atomic
from .augment import AugmentPlan
from .dataset import DatasetError, discover
from ..runtime import effnet
from ..runtime.errors import WeightsError
from ..runtime.fit import class_reference
from .evaluate import condition_variants, detector_table, evaluate_model, summary_table
from .featcache import FeatureCache
from .logistic import LogisticRegression
from ..runtime.model import SpectralModel
from .report import write_report
from .rule import choose_rule, fit_rule

LOSS_POINTS = 400


def split_items(labels, test_fraction, seed):
    """Boolean mask of held-out items: the same fraction of each class, fixed by seed."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for c in (0, 1):
        idx = np.flatnonzero(labels == c)
        test[rng.choice(idx, int(round(len(idx) * test_fraction)), replace=False)] = True
    return test


def held_out_items(data, split):
    """The items of folder `data` that a weights file's split (its provenance's test_fraction and seed) held
    out: what scripts evaluate the shipped weights on, never seen in training."""
    items = discover([data])
    test = split_items(np.array([it.label for it in items]), split["test_fraction"], split["seed"])
    return [it for it, out in zip(items, test) if out]


def _loss_points(history):
    step = max(1, len(history) // LOSS_POINTS)
    return [float(v) for v in history[::step]]


def decide_threshold(arg, results):
    """-> the threshold and how it was chosen (for the provenance): 'cv' takes the search's choice."""
    info = {}
    if results:
        best = results[0]
        info = {"cv_choice": best["threshold"], "cv_at_0.5": best["cv_balanced_accuracy"],
                "cv_at_choice": best["cv_at_threshold"], "grid": list(search.THRESHOLDS),
                "cv_curve": best["threshold_curve"]}
    if arg != "cv":
        return {"value": float(arg), "source": "--threshold", **info}
    if not results:
        return {"value": 0.5, "source": "0.5 (no cross-validation ran)"}
    return {"value": best["threshold"], "source": "cross-validation", **info}


def cmd_train(args):
    timings = {}
    t0 = time.time()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            items = discover(args.data, args.real or (), args.fake or ())
        for w in caught:
            print(f"facespectra: warning: {w.message}", file=sys.stderr)
        init = SpectralModel.load(args.init) if args.init else None
    except (OSError, DatasetError, WeightsError) as exc:
        print(f"facespectra: {exc}", file=sys.stderr)
        return 2
    labels = np.array([it.label for it in items])
    print(f"data: {int((labels == 0).sum())} real, {int((labels == 1).sum())} fake images")
    test = split_items(labels, args.test_fraction, args.seed)
    plan = AugmentPlan(n_jpeg=args.jpeg_variants, n_resized=args.resized_variants,
                       n_synthetic=args.synthetic, max_stages=args.synthetic_stages, seed=args.seed)
    if init is not None:
        configs = {init.config.name: init.config}
    elif args.config:
        unknown = [c for c in args.config if c not in search.CANDIDATES]
        if unknown:
            print(f"facespectra: unknown config {unknown[0]!r}; choose from {', '.join(search.CANDIDATES)}", file=sys.stderr)
            return 2
        configs = {c: search.CANDIDATES[c] for c in args.config}
    else:
        configs = dict(search.CANDIDATES)
    plan_sets, condition_sets = {}, {}

    def variants_of(i, content_hash, label):
        planned = [] if test[i] else plan.variants(content_hash, label)
        plan_sets[i] = set(planned)
        condition_sets[i] = set(condition_variants(content_hash))
        return planned + [v for v in condition_variants(content_hash) if v not in planned]

    def cnn_of(i, variant):  # the CNN head's rows and the rule's: every condition, and the synthetic fakes
        return variant in condition_sets[i] or bool(variant.upsampler)

    with_cnn = args.cnn and effnet.available()
    if args.cnn and not with_cnn:
        print("facespectra: warning: the CNN's weights are missing (run `make setup`): training the spectral model "
              "alone", file=sys.stderr)
    # variants_of and cnn_of run in this process, before the pool starts
    table = featuretable.build(items, variants_of, configs, jobs=args.jobs, cache=FeatureCache(args.cache),
                               desc="extracting features", cnn_of=cnn_of if with_cnn else None)
    timings["features_s"] = round(time.time() - t0, 1)
    for path, reason in table.skipped:
        print(f"facespectra: skipped {path}: {reason}", file=sys.stderr)
    skipped_paths = {p for p, _ in table.skipped}
    ok = np.array([str(it.path) not in skipped_paths for it in items])
    train_items = ~test & ok
    is_train_row = np.array([v in plan_sets[i] for i, v in zip(table.items_idx, table.variants)], dtype=bool)

    t1 = time.time()
    if with_cnn and args.search:
        folds = search.stratified_folds(labels, args.folds, args.seed, include=train_items)
        bar = tqdm(total=args.folds, desc="CNN head, out of fold", unit="fold")
        table.cnn_logit = cnnhead.out_of_fold(table, train_items, folds, args.folds, lambda f: bar.update())
        bar.close()
    params = {"l2": args.l2, "lr": 1.0, "max_iter": 20000, "tol": 1e-6}
    results = []
    if args.search and (len(configs) > 1 or init is None):
        name, params, results = search.run(table, configs, train_items, is_train_row, k=args.folds, seed=args.seed)
        print("cross-validation (best 5; score: mean balanced accuracy as distributed and re-saved at q95/85/75/65):")
        for r in results[:5]:
            web = r["per_condition"].get("web", float("nan"))
            synthetic = ", ".join(f"{kind} {100 * v:.0f}%" for kind, v in r["synthetic_recall"].items())
            print(f"  {r['config']:10s} {r['params']}  score {100 * r['cv_balanced_accuracy']:.1f}%  (web {100 * web:.1f}%)"
                  f"; at threshold {r['threshold']:.2f}: {100 * r['cv_at_threshold']:.1f}%"
                  + (f"; synthetic fakes of validation photos called fake: {synthetic}" if synthetic else ""))
    else:
        name = next(iter(configs))
    timings["search_s"] = round(time.time() - t1, 1)
    threshold = decide_threshold(args.threshold, results)
    line = f"threshold {threshold['value']:g} ({threshold['source']})"
    if "cv_choice" in threshold:
        line += (f"; CV score {100 * threshold['cv_at_0.5']:.2f}% at 0.5, "
                 f"{100 * threshold['cv_at_choice']:.2f}% at the CV choice {threshold['cv_choice']:g}")
    print(line)

    t2 = time.time()
    cfg = configs[name]
    rows = is_train_row & train_items[table.items_idx]
    X, y = table.X[name][rows], table.labels[rows]
    start = None if init is None else (init.coef, init.intercept, init.mean, init.scale)
    clf = LogisticRegression(**params).fit(X, y, init=start)
    timings["fit_s"] = round(time.time() - t2, 1)
    provenance = {
        "data": {"paths": [str(p) for p in args.data], "n_real": int((labels == 0).sum()),
                 "n_fake": int((labels == 1).sum()), "n_skipped": len(table.skipped)},
        "split": {"test_fraction": args.test_fraction, "seed": args.seed, "n_train_images": int(train_items.sum()),
                  "n_test_images": int((test & ok).sum()), "n_training_rows": int(rows.sum())},
        "augmentation": plan.__dict__,
        "solver": {**clf.get_params(), "n_iter": clf.n_iter_, "converged": bool(clf.converged_)},
        "init": str(args.init) if args.init else None,
        "search": [{k: v for k, v in r.items() if k not in ("threshold_curve", "rule_rows")} for r in results[:10]],
        "threshold": threshold,
        "loss_history": _loss_points(clf.loss_history_),
    }
    rule, cv_rule, head, cv = None, None, None, {}
    if results:
        rows_for_rule = results[0]["rule_rows"]
        rule, cv["spectral"] = _fit_rule(rows_for_rule, 1, "spectral model alone")
        if table.cnn_logit is not None:
            head, clf_cnn = cnnhead.fit_head(table, train_items)
            provenance["cnn"] = {**cnnhead.SOLVER, "n_iter": clf_cnn.n_iter_, "converged": bool(clf_cnn.converged_),
                                 "n_training_rows": int(cnnhead.head_rows(table, train_items).sum())}
            head.verdict_rule, cv["both"] = _fit_rule(rows_for_rule, 2, "both detectors")
            alone = {name: {**r, "logit": r["cnn_logit"]} for name, r in rows_for_rule.items()}
            _, cv["cnn"] = _fit_rule(alone, 1, "CNN alone (reported, not shipped)")
        cv_rule = cv["both" if head else "spectral"]
    model = SpectralModel(cfg, clf.mean_, clf.scale_, clf.coef_, clf.intercept_, threshold["value"],
                          provenance=provenance, reference=class_reference(X, y), verdict_rule=rule, cnn=head)

    t3 = time.time()
    held_out = test & ok
    metrics, preds = evaluate_model(model, table, held_out, name)
    model.metrics = {"held_out": metrics, **({"cv_verdict_rule": cv_rule} if cv_rule else {})}
    if head is not None:
        model.metrics["detectors"] = {
            "cv": cv, "held_out": {"spectral": evaluate_model(model, table, held_out, name, use_cnn=False)[0],
                                   "both": metrics}}
    write_text_atomic(args.out, json.dumps(model.to_dict(), indent=1))
    if args.report:
        write_report(Path(args.report), title="facespectra training report (held-out split)", model=model,
                     metrics={"weights": str(args.out), "config": name, "params": params, "threshold": threshold,
                              "conditions": metrics, "cv_verdict_rule": cv_rule,
                              "detectors": model.metrics.get("detectors"),
                              "skipped": [{"path": p, "reason": r} for p, r in table.skipped]},
                     preds=preds, table=table, items_mask=held_out, config_name=name)
    timings["evaluate_s"] = round(time.time() - t3, 1)
    timings["total_s"] = round(time.time() - t0, 1)
    print(f"config {name}, params {params}, {clf.n_iter_} iterations, threshold {model.threshold:g}")
    print(summary_table(metrics))
    for split, per_detector in model.metrics.get("detectors", {}).items():
        print(f"each detector's rule, {split.replace('_', ' ')} (coverage real/generated · real called generated · "
              "generated called real):")
        print(detector_table(per_detector))
    print("seconds per step: " + ", ".join(f"{k}={v}" for k, v in timings.items()))
    print(f"weights: {args.out}" + (f"; report: {Path(args.report) / 'report.html'}" if args.report else ""))
    return 0


def _fit_rule(rows, inputs, what):
    """The verdict rule over `inputs` detectors' log-odds, chosen by cross-validation -> (rule, its cross-validated
    metrics); prints how it was chosen and its table, and warns of any side withheld."""
    setting, withheld, cv = choose_rule(rows, inputs)
    print(f"verdict rule, {what}: fitted at {100 * setting.share('fake'):g}% (generated) and "
          f"{100 * setting.share('real'):g}% (real) confident errors and a margin of {setting.margin:g} "
          f"log-odds, the resampling flag at the {100 * setting.quantile:g}th percentile of unedited photos, chosen by "
          "cross-validation; each fold judged by the rule fitted without it:")
    print(summary_table(cv))
    for regime_name, side in withheld:
        print(f"facespectra: warning: {what}: no rule kept the promise everywhere: the {regime_name} regime never "
              f"says \"likely {'generated' if side == 'fake' else 'real'}\"", file=sys.stderr)
    return fit_rule(rows, setting, withheld, inputs), cv


def cmd_evaluate(args):
    """`facespectra evaluate DATA... --weights W --report DIR`"""
    try:
        model = SpectralModel.load(args.weights)
        items = discover(args.data, args.real or (), args.fake or ())
    except (OSError, WeightsError, DatasetError) as exc:
        print(f"facespectra: {exc}", file=sys.stderr)
        return 2
    with_cnn = model.cnn is not None and effnet.available()
    table = featuretable.build(items, lambda i, h, label: condition_variants(h), {"model": model.config},
                               jobs=args.jobs, cache=FeatureCache(args.cache), desc="evaluating",
                               cnn_of=(lambda i, v: True) if with_cnn else None)
    for path, reason in table.skipped:
        print(f"facespectra: skipped {path}: {reason}", file=sys.stderr)
    all_items = np.ones(len(items), dtype=bool)
    metrics, preds = evaluate_model(model, table, all_items, "model")
    result = {"weights": str(args.weights), "n_images": int(len(items) - len(table.skipped)),
              "skipped": [{"path": p, "reason": r} for p, r in table.skipped], "conditions": metrics}
    if with_cnn:
        result["detectors"] = {"evaluated": {
            "spectral": evaluate_model(model, table, all_items, "model", use_cnn=False)[0], "both": metrics}}
    elif model.cnn is not None:
        print("facespectra: warning: the CNN's weights are missing (run `make setup`): judged by the spectral "
              "model's own rule, as the page does until the network has loaded", file=sys.stderr)
    write_report(Path(args.report), title=f"facespectra evaluation of {Path(args.weights).name}", model=model,
                 metrics=result, preds=preds, table=table, items_mask=all_items, config_name="model")
    if with_cnn:
        print("spectral model alone (its own rule):")
        print(summary_table(result["detectors"]["evaluated"]["spectral"]))
        print("both detectors (the rule the page and the CLI use once the network is there):")
    print(summary_table(metrics))
    print(f"report: {Path(args.report) / 'report.html'}")
    return 0
