"""`pipechaos analyze`: re-run the checks on a stored run."""

from __future__ import annotations

import sys

from chaos.commands.common import COULD_NOT_RUN, USAGE_ERROR, fail, print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def main(args: argparse.Namespace) -> int:
    from chaos.spec.errors import SpecError
    from chaos.spec.loader import load_experiment

    try:
        experiment, _ = load_experiment(args.run_dir / "experiment.yaml")
    except SpecError as exc:
        return fail(exc, args.json)
    invariants = list(experiment.invariants)
    if args.check and not any(args.check in (i.verdict_name, i.check) for i in invariants):
        from chaos import registry

        if args.check not in registry.checks:  # else: runs with default parameters
            listed = ", ".join(i.verdict_name for i in invariants) or "none"
            sys.stderr.write(
                f"pipechaos: --check: {registry.checks.unknown(args.check)}; "
                f"this run's invariants: {listed}\n"
            )
            return USAGE_ERROR
    from chaos.checks.runner import run_checks
    from chaos.report.result import unfinished
    from chaos.report.table import mark_unfinished, print_verdicts

    verdicts = [v.to_json() for v in run_checks(args.run_dir, invariants, only=args.check)]
    ended_early = unfinished(args.run_dir)
    if ended_early is not None:
        verdicts = mark_unfinished(verdicts, ended_early)
    if args.json:
        doc = {"run_dir": str(args.run_dir), "finished": ended_early is None,
               "unfinished": ended_early, "verdicts": verdicts}
        print_json(doc, default=str)
    else:
        if ended_early is not None:
            print(f"this run never finished ({ended_early}): "
                  "the verdicts judge only the data it left")
        print_verdicts(verdicts, sys.stdout)
    if not all(v["ok"] for v in verdicts):
        return 1
    return 0 if ended_early is None else COULD_NOT_RUN
