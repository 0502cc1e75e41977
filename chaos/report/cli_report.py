"""`pipechaos report RUN_DIR [--format html|junit|md] [--out FILE]`: render a run's reports
again from its directory alone (old runs, runs copied off a cluster);
`pipechaos report RUNS_DIR --trend [--out FILE]`: one trend page over many runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

USAGE_ERROR = 2

def cmd_report(args: argparse.Namespace) -> int:
    from chaos.report.render import FILES, renderer, write_reports, write_text

    run_dir: Path = args.run_dir
    if not run_dir.is_dir():
        sys.stderr.write(f"pipechaos: report: {run_dir}: no such run directory\n")
        return USAGE_ERROR
    if args.trend:
        return _trend(run_dir, args.out)
    if args.format is None and args.out is not None:
        sys.stderr.write("pipechaos: report: --out needs --format (html, junit or md)\n")
        return USAGE_ERROR
    if args.format is None:
        problems = write_reports(run_dir)
        for p in problems:
            sys.stderr.write(f"pipechaos: report: {p}\n")
        for name in FILES.values():
            if not any(p.startswith(name) for p in problems):
                print(run_dir / name)
        return 3 if problems else 0
    try:
        text = renderer(args.format)(run_dir)
    except Exception as exc:  # a run directory odd enough to break a renderer: one line
        sys.stderr.write(f"pipechaos: report: {run_dir}: cannot render {args.format}: "
                         f"{type(exc).__name__}: {exc}\n")
        return 3
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        write_text(args.out, text)
    except OSError as exc:
        sys.stderr.write(f"pipechaos: report: --out {args.out}: {exc.strerror or exc}\n")
        return USAGE_ERROR
    print(args.out)
    return 0


def _trend(root: Path, out: Path | None) -> int:
    from chaos.report.render import write_text
    from chaos.report.trend import render_trend

    target = out or root / "trend.html"
    try:
        write_text(target, render_trend(root))
    except OSError as exc:
        sys.stderr.write(f"pipechaos: report: {target}: {exc.strerror or exc}\n")
        return USAGE_ERROR
    print(target)
    return 0
