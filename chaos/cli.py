"""`pipechaos`: parse, call, print. Imports are lazy so `--help` and `validate` start fast.

Exit codes: 0 every invariant held; 1 an invariant was violated or an abort fired;
2 bad input or usage; 3 the experiment could not run; 130 interrupted (after reverting).
"""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False  # not `from typing`: importing typing is a tenth of `--help`'s time
if TYPE_CHECKING:  # kept out of `--help`'s start-up, like every import below
    from pathlib import Path
    from typing import Any, NoReturn


def _print_json(value: Any, **options: Any) -> None:
    import json

    print(json.dumps(value, **options))


def _path(text: str) -> Path:
    from pathlib import Path

    return Path(text)

USAGE_ERROR = 2
COULD_NOT_RUN = 3
HOLDS_NOTHING = ("validate", "plan", "schema")  # verbs that only read files and print
_verb: list[str | None] = [None]  # the verb main() ran, for console()


def console() -> NoReturn:
    """The `pipechaos` command. Verbs that only read and print (and --help) exit without the
    interpreter's teardown: freeing every imported module took a seventh of `validate`'s
    CPU time. Verbs that run, revert or serve exit normally."""
    try:
        code = main()
    except SystemExit as exc:  # --help, usage errors: nothing was opened
        if not isinstance(exc.code, int):
            raise
        code, _verb[0] = exc.code, "help"
    if _verb[0] not in (*HOLDS_NOTHING, "help"):
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a closed pipe: the reader went away
        pass
    os._exit(code)


class _Formatter(argparse.HelpFormatter):
    """Width from the terminal, as argparse does, without importing shutil (and with it
    bz2, lzma and zlib) on every start-up."""

    def __init__(self, prog: str) -> None:
        try:
            columns = int(os.environ.get("COLUMNS", "0")) or os.get_terminal_size().columns
        except (ValueError, OSError):
            columns = 80
        super().__init__(prog, width=max(columns, 40) - 2)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(USAGE_ERROR)


# The verbs: name -> (help, arguments). Adding a verb is an entry here plus a
# `_cmd_<verb>(args) -> int` function below (a verb with a dash maps to an underscore).
Arg = tuple[tuple[str, ...], dict[str, object]]
TARGET_HELP = "target name (targets/NAME.yaml) or file; overrides the experiment's target"
VERBS: dict[str, tuple[str, list[Arg]]] = {
    "run": ("run an experiment and judge it", [
        (("file",), {"type": _path, "help": "the experiment file"}),
        (("--target",), {"help": TARGET_HELP}),
        (("--seed",), {"type": int, "help": "replay the random choices of an earlier run"}),
        (("--run-dir",), {"type": _path, "help": "where to write the run (default runs/<id>)"}),
        (("--dry-run",), {"action": "store_true", "help": "print the plan; touch nothing"}),
        (("--allowed-hours",), {"metavar": "HOURS", "help": 'run only inside these hours, e.g. '
                                '"Mon-Fri 09:00-17:00 Europe/Berlin"; outside: skipped, exit 0; '
                                "when they end mid-run: aborted and reverted, exit 1"}),
        (("--max-duration",), {"metavar": "DURATION", "help": "abort and revert a run still "
                               "going after this long (e.g. 10m), exit 1"}),
        (("--pushgateway",), {"metavar": "URL", "help": "push the run's verdicts, duration, "
                              "lost and duplicate counts to this Prometheus Pushgateway "
                              "(job pipechaos); a failed push only warns"}),
    ]),
    "validate": ("check experiment/target files", [
        (("files",), {"type": _path, "nargs": "+", "metavar": "file"}),
        (("--target",), {"help": TARGET_HELP}),
    ]),
    "plan": ("the timed schedule; touches nothing", [
        (("file",), {"type": _path, "help": "the experiment file"}),
        (("--seed",), {"type": int,
                       "help": "the seed whose schedule to show (a run's is in its plan.json)"}),
        (("--target",), {"help": TARGET_HELP}),
    ]),
    "list": ("registered faults, checks, probes, ... and their parameters", []),
    "rollback": ("revert what a dead run left applied", [
        (("run_dir",), {"type": _path, "nargs": "?",
                        "help": "the run directory (default: every unfinished run in runs/)"}),
    ]),
    "analyze": ("re-run the checks on a stored run", [
        (("run_dir",), {"type": _path}),
        (("--check",), {"help": "only this invariant (verdict name or check name); "
                                "a check the experiment does not list runs with defaults"}),
    ]),
    "load-worker": ("a Locust load worker of a distributed run (cluster pods)", [
        (("--master",), {"required": True, "metavar": "HOST:PORT",
                         "help": "the run's Locust master (the runner's pod, port 5557)"}),
        (("--index",), {"type": int, "help": "the load slot to ask for (default: any free)"}),
        (("--wait",), {"default": "15m", "metavar": "DURATION",
                       "help": "keep trying to reach the master this long (default 15m)"}),
    ]),
    "report": ("render a run's report.html, junit.xml and summary.md again; or a trend", [
        (("run_dir",), {"type": _path, "help": "the run directory"}),
        (("--format",), {"choices": ["html", "junit", "md"],
                         "help": "one report to stdout or --out (default: all three, "
                                 "into the run directory)"}),
        (("--out",), {"type": _path, "help": "write the report to this file"}),
        (("--trend",), {"action": "store_true",
                        "help": "RUN_DIR holds many runs: one trend page over them "
                                "(default --out RUN_DIR/trend.html)"}),
    ]),
    "schema": ("JSON Schema of a file format", [
        (("kind",), {"nargs": "?", "choices": ["experiment", "target"],
                     "default": "experiment"}),
    ]),
}


def _parser() -> _Parser:
    # `--json` before the verb or after it: the verb's own flag must not reset the other
    common = _Parser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS,
        help="machine-readable output on stdout",
    )
    p = _Parser(
        prog="pipechaos",
        description="Chaos experiments with a verdict for message-consumer pipelines.",
        parents=[common],
        epilog="exit codes: 0 passed, 1 invariant violated or aborted, 2 bad input, "
        "3 could not run, 130 interrupted",
    )
    sub = p.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for verb, (text, arguments) in VERBS.items():
        parser = sub.add_parser(verb, parents=[common], help=text, description=text)
        for names, options in arguments:
            parser.add_argument(*names, **options)  # type: ignore[arg-type]
    sub.add_parser(
        "proxy",
        help="the Toxiproxy-compatible fault proxy (see pipechaos proxy -h)",
        add_help=False,
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["proxy"]:
        from chaos.proxy.main import main as proxy_main

        return int(proxy_main(args_list[1:]))
    args = _parser().parse_args(args_list)
    args.json = getattr(args, "json", False)  # SUPPRESSed unless given, before or after
    _verb[0] = args.verb
    if args.verb is None:
        _parser().print_help()
        return USAGE_ERROR
    try:
        verb = str(args.verb).replace("-", "_")
        code: int = getattr(sys.modules[__name__], f"_cmd_{verb}")(args)
        return code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        return 0


# ---------------------------------------------------------------- verbs


def _fail(problems: Any, as_json: bool) -> int:
    """Print input problems (SpecError) and return exit 2."""
    lines = [str(p) for p in problems.problems]
    if as_json:
        _print_json({"ok": False, "errors": lines})
    else:
        sys.stderr.write("\n".join(lines) + "\n")
    return USAGE_ERROR


def _cmd_validate(args: argparse.Namespace) -> int:
    from chaos.spec.errors import SpecError
    from chaos.spec.validate import check_experiment_file, check_target_file, kind_of

    results: list[dict[str, Any]] = []
    for path in args.files:
        try:
            if kind_of(path) == "Target":
                check_target_file(path)
            else:
                check_experiment_file(path, args.target)
            results.append({"file": str(path), "ok": True, "errors": []})
        except SpecError as exc:
            results.append(
                {"file": str(path), "ok": False, "errors": [str(p) for p in exc.problems]}
            )
    bad = [r for r in results if not r["ok"]]
    if args.json:
        _print_json({"ok": not bad, "files": results})
    else:
        for r in results:
            if r["ok"]:
                print(f"{r['file']}: ok")
            else:
                sys.stderr.write("\n".join(r["errors"]) + "\n")
    return USAGE_ERROR if bad else 0


def _plan_of(args: argparse.Namespace) -> tuple[Any, int, dict[str, Any]]:
    from chaos.run.plan import new_seed, plan_json
    from chaos.spec.validate import check_experiment_file

    checked = check_experiment_file(args.file, args.target)
    seed = args.seed if args.seed is not None else new_seed()
    plan = plan_json(checked.experiment, seed)
    plan["target"] = checked.target.metadata.name
    return checked, seed, plan


def _print_plan(plan: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(plan, indent=2)
        return
    from chaos.report.plantext import plan_lines

    print("\n".join(plan_lines(plan)))


def _cmd_plan(args: argparse.Namespace) -> int:
    from chaos.spec.errors import SpecError

    try:
        _, _, plan = _plan_of(args)
    except SpecError as exc:
        return _fail(exc, args.json)
    _print_plan(plan, args.json)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
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
        checked, seed, plan = _plan_of(args)
    except SpecError as exc:
        return _fail(exc, args.json)
    if args.dry_run:
        _print_plan(plan, args.json)
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
        _print_json(result.to_json(), default=str)
    else:
        print_summary(result.to_json(), sys.stdout)
        print(f"run directory: {run_dir}")
    if args.pushgateway is not None:  # after the result: a failed push changes nothing
        from chaos.report.pushgateway import push_or_warn

        sys.stdout.flush()
        push_or_warn(args.pushgateway, result.to_json(), sys.stderr.write)
    return result.exit_code


def _busy(advice: str, as_json: bool) -> int:
    """Another run holds the target: one plain line with the remedy, exit 3."""
    if as_json:
        _print_json({"status": "busy", "exit_code": COULD_NOT_RUN, "reason": advice})
    sys.stderr.write(f"pipechaos: {advice}\n")
    return COULD_NOT_RUN


def _cmd_rollback(args: argparse.Namespace) -> int:
    from chaos.run.rollback import RollbackError, rollback, unfinished

    dirs = [args.run_dir] if args.run_dir else unfinished(_path("runs"))
    reports = []
    try:
        for d in dirs:
            reports.append(rollback(d))
    except RollbackError as exc:
        sys.stderr.write(f"pipechaos: {exc}\n")
        return USAGE_ERROR
    if args.json:
        _print_json([r.to_json() for r in reports])
    elif not reports:
        print("no unfinished runs under runs/")
    for r in reports if not args.json else []:
        print(
            f"{r.run_dir}: "
            + (
                r.skipped
                or f"reverted {len(r.reverted)} action(s)"
                + (f", {len(r.failed)} FAILED" if r.failed else "")
                + (
                    f", deleted {len(r.deleted_proxies)} proxy(ies) it created"
                    if r.deleted_proxies else ""
                )
            )
        )
        for f in r.failed:
            print(f"  failed: {f}")
    return 3 if any(r.failed for r in reports) else 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from chaos.spec.errors import SpecError
    from chaos.spec.loader import load_experiment

    try:
        experiment, _ = load_experiment(args.run_dir / "experiment.yaml")
    except SpecError as exc:
        return _fail(exc, args.json)
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
        _print_json(doc, default=str)
    else:
        if ended_early is not None:
            print(f"this run never finished ({ended_early}): "
                  "the verdicts judge only the data it left")
        print_verdicts(verdicts, sys.stdout)
    if not all(v["ok"] for v in verdicts):
        return 1
    return 0 if ended_early is None else COULD_NOT_RUN


def _cmd_load_worker(args: argparse.Namespace) -> int:
    from chaos.load.worker import WorkerArgsError, run_worker

    try:
        return run_worker(args.master, args.index, args.wait)
    except WorkerArgsError as exc:
        sys.stderr.write(f"pipechaos: {exc}\n")
        return USAGE_ERROR


def _cmd_schema(args: argparse.Namespace) -> int:
    from chaos.spec.schema import schema

    _print_json(schema(args.kind), indent=2)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from chaos.report.listing import describe_all

    listing = describe_all()
    if args.json:
        _print_json(listing, indent=2, default=str)
        return 0
    from chaos.report.listing import listing_lines

    print("\n".join(listing_lines(listing)))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from chaos.report.cli_report import cmd_report

    return cmd_report(args)
