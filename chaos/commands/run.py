"""`pipechaos run`: lock the target, run the experiment, print and push the verdicts."""

from __future__ import annotations

import sys

from chaos.commands.common import COULD_NOT_RUN, USAGE_ERROR, fail, print_json
from chaos.commands.plan import plan_of, print_plan

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def main(args: argparse.Namespace) -> int:
    from chaos.run.hours import HoursError, from_flags
    from chaos.spec.errors import SpecError

    try:
        limits = from_flags(args.allowed_hours, args.max_duration)
    except HoursError as exc:
        sys.stderr.write(f"pipechaos: {exc}\n")
        return USAGE_ERROR
    if args.pushgateway is not None:
        from chaos.report.pushgateway import PushgatewayUrlError, check_url

        try:
            check_url(args.pushgateway)
        except PushgatewayUrlError as exc:
            sys.stderr.write(f"pipechaos: --pushgateway: {exc}\n")
            return USAGE_ERROR
    try:
        checked, seed, plan = plan_of(args)
    except SpecError as exc:
        return fail(exc, args.json)
    if args.dry_run:
        print_plan(plan, args.json)
        return 0
    import logging

    from chaos.report.progress import make_progress
    from chaos.report.table import print_summary
    from chaos.run.lock import LockBusy, TargetLock
    from chaos.run.orchestrator import Run
    from chaos.run.rundir import prepare_run_dir

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    lock = None  # outside the allowed hours the Run skips before it would need the lock
    if limits.gate()[0] is None:
        lock = TargetLock(checked.target.metadata.name)
        try:  # before the run directory: a busy target is expected, and leaves nothing
            lock.acquire()
        except LockBusy as exc:
            return _busy(exc.advice(checked.target.metadata.name), args.json)
    try:
        run_id, run_dir = prepare_run_dir(checked, seed, args.run_dir)
    except OSError as exc:
        if lock is not None:
            lock.release()
        sys.stderr.write(f"pipechaos: {exc}\n")
        return USAGE_ERROR
    from chaos.run.signals import Interrupted

    progress = make_progress(run_id, quiet=args.json)
    try:
        result = Run(checked, seed, run_dir, run_id, progress, lock, limits).execute()
    except Interrupted:  # a signal in the instant between an error and the cleanup
        sys.stderr.write("interrupted\n")
        return 130
    if args.json:
        print_json(result.to_json(), default=str)
    else:
        print_summary(result.to_json(), sys.stdout)
        print(f"run directory: {run_dir}")
    if args.pushgateway is not None:  # after the result: a failed push changes nothing
        from chaos.report.pushgateway import push_or_warn

        sys.stdout.flush()
        push_or_warn(args.pushgateway, result.to_json(), sys.stderr.write)
    return int(result.exit_code)


def _busy(advice: str, as_json: bool) -> int:
    """Another run holds the target: one plain line with the remedy, exit 3."""
    if as_json:
        print_json({"status": "busy", "exit_code": COULD_NOT_RUN, "reason": advice})
    sys.stderr.write(f"pipechaos: {advice}\n")
    return COULD_NOT_RUN
