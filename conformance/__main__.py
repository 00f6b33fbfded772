"""Command line of the kit: ``python -m conformance <command>``.

``schema`` writes ``conformance/case.schema.json`` from :mod:`conformance.casefile.schema`, so editors
validate case files against the same description the kit validates them with; ``schema --check`` is the CI
guard that the shipped file was regenerated after the format changed. Each command is one subparser with a
``func`` default, so a new command (e.g. ``report``) is one more ``add_parser`` and function.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance import registry
from conformance.casefile import schema


def _schema(args: argparse.Namespace) -> int:
    """Write the JSON Schema, or with --check say (exit 1) that the shipped one is stale."""
    rendered = schema.render_json_schema()
    path = schema.SCHEMA_PATH
    if args.check:
        try:
            shipped = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            shipped = None
        if shipped != rendered:
            state = "is missing" if shipped is None else "is out of date with conformance/casefile/schema.py"
            print(f"{path} {state}; regenerate it with: python -m conformance schema", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.write_text(rendered, encoding="utf-8")
    print(f"wrote {path}")
    return 0


def _report(args: argparse.Namespace) -> int:
    """Merge results files into one report; exit 1 when a file is missing or broken, or an item failed."""
    from conformance.results import report

    built = report.build(args.results)
    if args.output is None:
        sys.stdout.write(registry.report_format(args.format)(built))
    targets = [(e.name, getattr(args, f"also_{e.name}")) for e in registry.REPORT_FORMATS]
    for fmt, target in [*targets, (args.format, args.output)]:
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(registry.report_format(fmt)(built), encoding="utf-8")
            print(f"wrote {target}", file=sys.stderr)
    bad_runs = [r for r in built.runs if r.status != "complete"]
    for run in bad_runs:
        print(f"error: {run.source}: {run.error}", file=sys.stderr)
    return 1 if bad_runs else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m conformance", description="tf-rnn-conformance tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = commands.add_parser(
        "schema", help="write conformance/case.schema.json from conformance/casefile/schema.py"
    )
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the shipped file differs")
    p.set_defaults(func=_schema)
    p = commands.add_parser("report", help="merge results files (one per environment) into one report")
    p.add_argument(
        "results",
        nargs="+",
        type=Path,
        help="results files or folders of them (*.json); the first "
        "environment is the baseline changes are measured from",
    )
    p.add_argument(
        "--format",
        choices=registry.by_name(registry.REPORT_FORMATS),
        default="md",
        help="format of --output / stdout",
    )
    p.add_argument("-o", "--output", type=Path, help="write the report here instead of stdout")
    for entry in registry.REPORT_FORMATS:  # --markdown, --html, --json: one per registered format
        p.add_argument(
            f"--{entry.flag}", dest=f"also_{entry.name}", type=Path, help=f"also write {entry.doc} here"
        )
    p.set_defaults(func=_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
