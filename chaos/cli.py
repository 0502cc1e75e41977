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


def _parser() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p = _Parser(
        prog="pipechaos",
        description="Chaos experiments with a verdict for message-consumer pipelines.",
        parents=[common],
        epilog="exit codes: 0 passed, 1 invariant violated or aborted, 2 bad input, "
        "3 could not run, 130 interrupted",
    )
    sub = p.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    run = sub.add_parser("run", parents=[common], help="run an experiment and judge it")
    run.add_argument("file", type=_path)
    run.add_argument("--target", help="target name or file (overrides the experiment's)")
    run.add_argument("--seed", type=int, help="replay the random choices of an earlier run")
    run.add_argument("--run-dir", type=_path, help="where to write the run (default runs/<id>)")
    run.add_argument("--dry-run", action="store_true", help="print the plan; touch nothing")
    val = sub.add_parser("validate", parents=[common], help="check experiment/target files")
    val.add_argument("files", type=_path, nargs="+")
    val.add_argument("--target", help="target name or file for experiments")
    plan = sub.add_parser("plan", parents=[common], help="the timed schedule; touches nothing")
    plan.add_argument("file", type=_path)
    plan.add_argument("--seed", type=int)
    plan.add_argument("--target")
    sub.add_parser("list", parents=[common], help="registered faults, checks, probes, ...")
    rb = sub.add_parser("rollback", parents=[common], help="revert what a dead run left applied")
    rb.add_argument("run_dir", type=_path, nargs="?")
    an = sub.add_parser("analyze", parents=[common], help="re-run the checks on a stored run")
    an.add_argument("run_dir", type=_path)
    an.add_argument("--check", help="only this invariant (verdict name or check name)")
    sc = sub.add_parser("schema", parents=[common], help="JSON Schema of a file format")
    sc.add_argument("kind", nargs="?", choices=["experiment", "target"], default="experiment")
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
    _verb[0] = args.verb
    if args.verb is None:
        _parser().print_help()
        return USAGE_ERROR
    try:
        code: int = getattr(sys.modules[__name__], f"_cmd_{args.verb}")(args)
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
    print(
        f"experiment {plan['experiment']} on {plan['target']}, seed {plan['seed']}, "
        f"window {plan['window_ns'] / 1e9:g}s, load {_load_text(plan['load'])}"
    )
    if not plan["occurrences"]:
        print("  no faults")
    for o in plan["occurrences"]:
        until = "instant" if o["until_s"] is None else f"until {o['until_s']:.3f}s"
        params = ", ".join(f"{k}={v}" for k, v in o["params"].items())
        print(f"  {o['at_s']:9.3f}s  {o['id']:<8} {o['type']:<22} {until}  {params}")


def _load_text(load: Any) -> str:
    if not isinstance(load, dict):
        return str(load)
    return f"{load.get('rate')} for {load.get('duration')}"


def _cmd_plan(args: argparse.Namespace) -> int:
    from chaos.spec.errors import SpecError

    try:
        _, _, plan = _plan_of(args)
    except SpecError as exc:
        return _fail(exc, args.json)
    _print_plan(plan, args.json)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from chaos.spec.errors import SpecError

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
    from chaos.run.orchestrator import Run
    from chaos.run.rundir import prepare_run_dir

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        run_id, run_dir = prepare_run_dir(checked, seed, args.run_dir)
    except OSError as exc:
        sys.stderr.write(f"pipechaos: {exc}\n")
        return USAGE_ERROR
    from chaos.run.signals import Interrupted

    progress = make_progress(run_id, quiet=args.json)
    try:
        result = Run(checked, seed, run_dir, run_id, progress).execute()
    except Interrupted:  # a signal in the instant between an error and the cleanup
        sys.stderr.write("interrupted\n")
        return 130
    if args.json:
        _print_json(result.to_json(), default=str)
    else:
        print_summary(result.to_json(), sys.stdout)
        print(f"run directory: {run_dir}")
    return result.exit_code


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
    if args.check:
        invariants = [i for i in invariants if args.check in (i.verdict_name, i.check)]
        if not invariants:
            sys.stderr.write(f"pipechaos: no invariant named {args.check!r} in this run\n")
            return USAGE_ERROR
    from chaos.checks.runner import run_checks
    from chaos.report.table import print_verdicts

    verdicts = [v.to_json() for v in run_checks(args.run_dir, invariants)]
    if args.json:
        _print_json({"run_dir": str(args.run_dir), "verdicts": verdicts}, default=str)
    else:
        print_verdicts(verdicts, sys.stdout)
    return 0 if all(v["ok"] for v in verdicts) else 1


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
    for kind, items in listing.items():
        print(f"{kind}:")
        for item in items:
            print(f"  {item['name']:<24} {item.get('description') or ''}")
            for param in item.get("params", []):
                default = "" if param["required"] else f" = {param['default']}"
                print(
                    f"      {param['name']}: {param['type']}{default}"
                    f"{'  ' + param['description'] if param.get('description') else ''}"
                )
            if item.get("error"):
                print(f"      (unavailable: {item['error']})")
    return 0
