"""`facespectra` command line: predict (and, lazily imported, the trainer's commands)."""

import argparse
import csv
import io
import os
import sys
from pathlib import Path

from .api import SHIPPED_WEIGHTS, Detector
from .runtime import csvrows
from .runtime.advice import advice


def default_weights():
    return Path(os.environ.get("FACESPECTRA_WEIGHTS", SHIPPED_WEIGHTS))


def cmd_predict(args):
    from .runtime.errors import WeightsError

    try:
        detector = Detector.load(args.weights)
    except (OSError, WeightsError) as exc:
        print(f"facespectra: cannot use weights {args.weights}: {exc}", file=sys.stderr)
        return 2
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=csvrows.LINE_END)
    # the page's export has the same columns and escaping (runtime/csvrows.py)
    writer.writerow(csvrows.COLUMNS + PER_FACE_COLUMNS if args.per_face else csvrows.COLUMNS)
    n_err = 0
    for row in detector.check(args.paths):
        n_err += row["label"] == "error"
        writer.writerow(csvrows.csv_cells(row) + ["", ""] * args.per_face)
        if args.per_face:
            writer.writerows(face_rows(row))
        if args.csv is None:  # the CSV is UTF-8 whatever the terminal's locale
            sys.stdout.buffer.write(buf.getvalue().encode("utf-8"))
            sys.stdout.buffer.flush()
            buf.seek(0)
            buf.truncate()
    if args.csv is not None:
        from .train.atomic import write_text_atomic

        write_text_atomic(args.csv, buf.getvalue())
    if n_err:
        print(f"facespectra: {n_err} file(s) could not be classified (label=error)", file=sys.stderr)
    return 0


PER_FACE_COLUMNS = ("face", "box")


def face_rows(row):
    """--per-face: after a file's row, one row per face found: its path, the face's number (from 1),
    its box (x0 y0 x1 y1 in image pixels) and, when checked on its own, its verdict, p_fake, reason and advice."""
    for i, face in enumerate(row.get("faces") or [], 1):
        own = {k: face.get(k) for k in ("verdict", "p_fake", "reason")}
        own["advice"] = advice(own["reason"]) if own["verdict"] == "uncertain" else None
        cells = csvrows.csv_cells({"path": row["path"], **own})
        yield cells + [str(i), " ".join(f"{v:.1f}" for v in face["box"])]


def build_parser():
    parser = argparse.ArgumentParser(prog="facespectra", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="classify image files or folders; writes CSV " + ",".join(csvrows.COLUMNS),
                       description="Classify images as real or fake. Folders are searched recursively. "
                                   "A file that cannot be read gets label=error and a message; the rest still run.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument("--weights", type=Path, default=default_weights(), help="weights JSON (default: %(default)s)")
    p.add_argument("--csv", type=Path, metavar="OUT", help="write the CSV here (atomically) instead of stdout")
    p.add_argument("--per-face", action="store_true",
                   help="after each file's row, one row per face found, with columns face (its number) and box "
                        "(x0 y0 x1 y1 in pixels); a face checked on its own also has its verdict, p_fake and reason")
    p.set_defaults(func=cmd_predict)
    _add_trainer_commands(sub)
    return parser


def cmd_train(args):
    from .train.train import cmd_train as run

    return run(args)


def cmd_evaluate(args):
    from .train.train import cmd_evaluate as run

    return run(args)


def _add_data_args(p):
    p.add_argument("data", nargs="*", type=Path, metavar="DATA",
                   help="folders holding real/ and fake/ (any case) or training_real/ and training_fake/")
    p.add_argument("--real", type=Path, action="append", metavar="DIR", help="a folder of real images (repeatable)")
    p.add_argument("--fake", type=Path, action="append", metavar="DIR", help="a folder of fake images (repeatable)")
    p.add_argument("--jobs", type=int, default=os.cpu_count(), help="parallel workers (default: all cores)")
    p.add_argument("--cache", type=Path, default=Path(".cache/features"), help="feature cache folder (default: %(default)s)")


def _threshold_arg(text):
    """'cv' or a number strictly between 0 and 1 (argparse type)."""
    if text == "cv":
        return text
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected 'cv' or a number between 0 and 1, got {text!r}")
    return value


TRAIN_DESCRIPTION = (
    "Train weights from labelled images. A share of each class (--test-fraction) is held out (by image, before any "
    "augmentation); k-fold cross-validation on the rest chooses the feature config, solver settings and "
    "the decision threshold on p(fake); the model is fitted on the training images and scored once on "
    "the held-out images in six conditions.")


def _add_trainer_commands(sub):
    p = sub.add_parser("train", help="train weights from labelled images, with a held-out evaluation report",
                       description=TRAIN_DESCRIPTION)
    _add_data_args(p)
    p.add_argument("--out", type=Path, default=Path("weights/model.json"), help="weights to write (default: %(default)s)")
    p.add_argument("--report", type=Path, metavar="DIR", help="write metrics.json and report.html for the held-out split here")
    p.add_argument("--init", type=Path, metavar="WEIGHTS", help="resume from these weights (their feature config is kept)")
    p.add_argument("--config", action="append", metavar="NAME", help="feature config(s) to consider (default: all candidates)")
    p.add_argument("--no-search", dest="search", action="store_false", help="skip cross-validation; use --l2 and the first config")
    p.add_argument("--no-cnn", dest="cnn", action="store_false",
                   help="train the spectral model alone, without the CNN head and the rule over both detectors")
    p.add_argument("--l2", type=float, default=1e-3, help="L2 strength without search (default: %(default)s)")
    p.add_argument("--folds", type=int, default=4, help="cross-validation folds (default: %(default)s)")
    p.add_argument("--test-fraction", type=float, default=0.25, help="held-out share of each class (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="split, folds and augmentation seed (default: %(default)s)")
    p.add_argument("--jpeg-variants", type=int, default=8, help="full-size re-encodes per image at distinct random JPEG qualities from 60-100 (at most 9)")
    p.add_argument("--resized-variants", type=int, default=2, help="cropped/downscaled re-encodes per image")
    p.add_argument("--synthetic", type=int, default=3, help="synthetic up-sampled fakes per real image (0: none; default: %(default)s)")
    p.add_argument("--synthetic-stages", type=int, default=3, metavar="N",
                   help="each synthetic fake has 1..N up-sampling stages (x2 each), drawn per fake (default: %(default)s)")
    p.add_argument("--threshold", type=_threshold_arg, default="cv", metavar="{cv,NUMBER}",
                   help="decision threshold on p(fake), stored in the weights and used by the page and predict. "
                        "cv (default): from 0.10-0.90 in steps of 0.05, the one with the best out-of-fold mean "
                        "balanced accuracy (as distributed and at q95/85/75/65) for the chosen setting, smoothed "
                        "over neighbouring thresholds; ties and non-gains go to 0.5, and without cross-validation "
                        "(--no-search, or --init with one config) it is 0.5. A number in (0, 1) fixes it.")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="score weights on labelled images in every condition; writes a report")
    _add_data_args(p)
    p.add_argument("--weights", type=Path, default=default_weights(), help="weights JSON (default: %(default)s)")
    p.add_argument("--report", type=Path, required=True, metavar="DIR", help="folder for metrics.json and report.html")
    p.set_defaults(func=cmd_evaluate)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("facespectra: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
