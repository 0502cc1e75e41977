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


# The verbs: name -> (help, arguments). Adding a verb is an entry here plus a module
# chaos/commands/<verb>.py with `main(args) -> int` (a verb's dash maps to an underscore).
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
    "init": ("write a starter target and two experiments for your own pipeline", [
        (("name",), {"help": "the target's name: targets/NAME.yaml, experiments/NAME-*.yaml"}),
        (("--publisher",), {"required": True, "choices": ["redis-stream", "rabbitmq", "http"],
                            "help": "how load reaches your pipeline"}),
        (("--observer",), {"required": True, "choices": ["sql", "http-json", "outcome-stream"],
                           "help": "how its final state is read after drain"}),
        (("--dir",), {"type": _path, "default": ".",
                      "help": "where targets/ and experiments/ go (default: here)"}),
        (("--force",), {"action": "store_true", "help": "overwrite files that exist"}),
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
        module = f"chaos.commands.{str(args.verb).replace('-', '_')}"
        __import__(module)
        code: int = sys.modules[module].main(args)
        return code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
