"""One run per target at a time: an flock'd file holding the owner's pid.

flock is released by the kernel when the holder dies, so a stale holder (SIGKILLed run)
never blocks the next run; the pid inside is only for the message.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from pathlib import Path


class LockBusy(Exception):
    """Another live process holds the target's lock."""

    def __init__(self, message: str, holder: str = "?", path: Path | None = None) -> None:
        super().__init__(message)
        self.holder, self.path = holder, path

    def advice(self, target: str) -> str:
        """The one line a user reads: who holds it, and what to do."""
        return (
            f"target {target} is busy: another run (pid {self.holder}) is using it; "
            "try again when it ends, or set PIPECHAOS_LOCK_WAIT=SECONDS to wait for it"
        )


def lock_wait_s() -> float:
    """PIPECHAOS_LOCK_WAIT: seconds to wait for a busy target (default 0: fail at once)."""
    try:
        return max(0.0, float(os.environ.get("PIPECHAOS_LOCK_WAIT", "0")))
    except ValueError:
        return 0.0


def lock_dir() -> Path:
    env = os.environ.get("PIPECHAOS_LOCK_DIR")
    return Path(env) if env else Path.home() / ".cache" / "pipechaos" / "locks"


class TargetLock:
    def __init__(self, target: str, directory: Path | None = None) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", target) or "_"
        self.path = (directory or lock_dir()) / f"{safe}.lock"
        self._fd: int | None = None

    def acquire(self, wait_s: float | None = None) -> None:
        """Take the lock, waiting up to `wait_s` (default PIPECHAOS_LOCK_WAIT) if busy."""
        deadline = time.monotonic() + (lock_wait_s() if wait_s is None else wait_s)
        while True:
            try:
                return self._try()
            except LockBusy:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def _try(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LockBusy(
                f"target is busy: another run (pid {holder}) holds {self.path}", holder, self.path
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                os.close(self._fd)  # closing drops the flock
                self._fd = None

    def __enter__(self) -> TargetLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
