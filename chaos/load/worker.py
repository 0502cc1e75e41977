"""`pipechaos load-worker --master HOST:PORT`: one Locust worker of a distributed run.

The worker gets its settings, slot and go/stop from the master over Locust messages and
sends its history back the same way, so it needs no shared volume. Locust runs as a child
process (it monkey-patches gevent); a worker that could not reach the master (the runner
starts it only after the target is up and steady) is started again until `wait` runs out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from chaos.load.settings import ENV_INDEX
from chaos.run.hours import HoursError, parse_duration

LOCUSTFILE = os.path.join(os.path.dirname(__file__), "locustfile.py")


class WorkerArgsError(ValueError):
    """A bad --master, --index or --wait: one line, exit 2."""


def worker_argv(master: str, python: str = sys.executable) -> list[str]:
    host, _, port = master.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise WorkerArgsError(
            f'--master: want HOST:PORT (e.g. pipechaos-load:5557), got "{master}"'
        )
    return [python, "-m", "locust", "-f", LOCUSTFILE, "--worker", "--master-host", host,
            "--master-port", port, "--loglevel", "WARNING", "--only-summary",
            "--exit-code-on-error", "0"]  # fmt: skip


def run_worker(master: str, index: int | None, wait: str) -> int:
    """Run the worker until the master ends it; exit 0 then, else Locust's exit code."""
    argv = worker_argv(master)
    if index is not None and index < 0:
        raise WorkerArgsError(f"--index: want 0 or more, got {index}")
    try:
        deadline = time.monotonic() + parse_duration(wait)
    except HoursError as exc:
        raise WorkerArgsError(f"--wait: {exc}") from None
    env = dict(os.environ)
    if index is not None:
        env[ENV_INDEX] = str(index)
    while True:
        code = subprocess.call(argv, env=env, stdin=subprocess.DEVNULL)
        if code == 0 or time.monotonic() >= deadline:
            return code
        time.sleep(1.0)
