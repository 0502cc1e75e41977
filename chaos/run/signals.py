"""SIGINT/SIGTERM become one `Interrupted` exception in the main thread; while cleaning up
(shielded) further signals are remembered but never interrupt the reverts."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Interrupted(BaseException):
    """Raised in the main thread on the first SIGINT/SIGTERM (BaseException: not swallowed
    by plugins' `except Exception`)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


class SignalGuard:
    def __init__(self) -> None:
        self.received: list[int] = []
        self.shielded = False
        self.raised = False  # Interrupted is raised at most once per run
        self._previous: dict[int, object] = {}

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if not self.shielded and not self.raised:
            self.raised = True
            raise Interrupted(signum)

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handler)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    @contextmanager
    def shield(self) -> Iterator[None]:
        """No Interrupted raised inside (cleanup must run to the end)."""
        before = self.shielded
        self.shielded = True
        try:
            yield
        finally:
            self.shielded = before
            if not before and self.received and not self.raised:
                self.raised = True  # a signal came while shielded: deliver it now
                raise Interrupted(self.received[0])

    def disarm(self) -> None:
        """From now on signals are only recorded (final cleanup)."""
        self.raised = True
        self.shielded = True

    @property
    def interrupted(self) -> bool:
        return bool(self.received)
