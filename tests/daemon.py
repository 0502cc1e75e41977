"""A server process for a test (Debian's prometheus, its pushgateway): started with its
output in a log, waited for until it answers, stopped by its PID (TERM, then KILL)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def running(argv: list[str], log: Path, ready: Callable[[], bool], failure: str,
            timeout_s: float, poll_s: float = 0.05) -> Iterator[None]:
    """`ready()` raising OSError or ValueError counts as not yet; RuntimeError(`failure`
    and the log's tail) when the process exits first or `timeout_s` passes."""
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                with contextlib.suppress(OSError, ValueError):
                    if ready():
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{failure}: {log.read_text(errors='replace')[-800:]}")
                time.sleep(poll_s)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
