"""`pipechaos load-worker`: a Locust load worker of a distributed run (cluster pods)."""

from __future__ import annotations

import sys

from chaos.commands.common import USAGE_ERROR

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def main(args: argparse.Namespace) -> int:
    from chaos.load.worker import WorkerArgsError, run_worker

    try:
        return int(run_worker(args.master, args.index, args.wait))
    except WorkerArgsError as exc:
        sys.stderr.write(f"pipechaos: {exc}\n")
        return USAGE_ERROR
