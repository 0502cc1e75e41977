"""Last-resort cleanup: kill the pods' process groups when the runner dies without down().

The runner starts this once (`python -m chaos.platforms.reaper`) and writes `+PGID` /
`-PGID` lines to its stdin as pods start and stop. When stdin hits EOF (the runner exited,
even by SIGKILL), every group still listed gets SIGKILL. This also reaches grandchildren
(e.g. a server a pod forked), which the parent-death signal alone would orphan.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from typing import IO


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def serve(stream: IO[str]) -> set[int]:
    """Track the groups named on `stream` until EOF; return those still listed."""
    groups: set[int] = set()
    for line in stream:
        line = line.strip()
        if len(line) > 1 and line[1:].isdigit():
            (groups.add if line[0] == "+" else groups.discard)(int(line[1:]))
    return groups


class Reaper:
    """The runner's handle on the reaper process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "chaos.platforms.reaper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # outlives the runner's process group on Ctrl-C
        )

    def _send(self, line: str) -> None:
        with self._lock:
            stdin = self._proc.stdin
            if stdin is None or stdin.closed:
                return
            try:
                stdin.write(line + "\n")
                stdin.flush()
            except (BrokenPipeError, OSError):
                pass

    def watch(self, pgid: int) -> None:
        self._send(f"+{pgid}")

    def forget(self, pgid: int) -> None:
        self._send(f"-{pgid}")

    def close(self) -> None:
        """Normal shutdown: the reaper kills whatever is still listed and exits."""
        with self._lock:
            if self._proc.stdin is not None and not self._proc.stdin.closed:
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C at the runner must not skip us
    for pgid in serve(sys.stdin):
        _killpg(pgid)


if __name__ == "__main__":
    main()
