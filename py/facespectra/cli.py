"""`facespectra` command line: predict (and, lazily imported, the trainer's commands)."""

import argparse
import csv
import io
import os
import sys
from pathlib import Path

DEFAULT_WEIGHTS = Path(__file__).resolve().parents[2] / "weights" / "model.json"


def default_weights():
    return Path(os.environ.get("FACESPECTRA_WEIGHTS", DEFAULT_WEIGHTS))


def iter_files(paths):
    """Files as given, folders recursed in sorted order; hidden files inside folders are skipped."""
    for p in map(Path, paths):
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(p).parts):
                    yield child
        else:
            yield p


def cmd_predict(args):
    from .classify import classify_bytes
    from .errors import WeightsError
    from .model import SpectralModel

    try:
        model = SpectralModel.load(args.weights)
    except (OSError, WeightsError) as exc:
        print(f"facespectra: cannot use weights {args.weights}: {exc}", file=sys.stderr)
        return 2
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "label", "p_fake", "error"])
    n_err = 0
    for path in iter_files(args.paths):
        try:
            data = path.read_bytes()
        except OSError as exc:
            row = {"label": "error", "p_fake": None, "error": f"cannot read file: {exc.strerror or exc}"}
        else:
            row = classify_bytes(data, model)
        n_err += row["label"] == "error"
        p = "" if row["p_fake"] is None else repr(row["p_fake"])
        writer.writerow([str(path), row["label"], p, row["error"] or ""])
        if args.csv is None:
            sys.stdout.write(buf.getvalue())
            buf.seek(0)
            buf.truncate()
    if args.csv is not None:
        from .atomic import write_text_atomic

        write_text_atomic(args.csv, buf.getvalue())
    if n_err:
        print(f"facespectra: {n_err} file(s) could not be classified (label=error)", file=sys.stderr)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="facespectra", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="classify image files or folders; writes CSV path,label,p_fake,error",
                       description="Classify images as real or fake. Folders are searched recursively. "
                                   "A file that cannot be read gets label=error and a message; the rest still run.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument("--weights", type=Path, default=default_weights(), help="weights JSON (default: %(default)s)")
    p.add_argument("--csv", type=Path, metavar="OUT", help="write the CSV here (atomically) instead of stdout")
    p.set_defaults(func=cmd_predict)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("facespectra: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
