"""Crash points: SIGKILL ourselves at a chosen window on the next message.

So tests and the `pod.crash` fault hit the dangerous windows deterministically instead of
hoping a random kill lands between the effects and the ACK.
"""

from __future__ import annotations

import os
import signal
import sys

POINTS = ("before-effects", "after-effects-before-ack", "after-ack")  # the consumer's
PRODUCER_POINTS = ("after-wal-before-xadd", "after-ack-before-wal", "after-xadd")


class CrashPoints:
    def __init__(self, points: tuple[str, ...] = POINTS) -> None:
        self.points = points
        self.armed: str | None = None

    def arm(self, point: str) -> None:
        if point not in self.points:
            raise ValueError(f"unknown crash point {point!r}; known: {', '.join(self.points)}")
        self.armed = point

    def disarm(self) -> None:
        """A crash point that never fired is taken back when its fault is reverted."""
        self.armed = None

    def reached(self, point: str, what: str) -> None:
        if self.armed == point:
            print(f"crash point {point} reached at {what}: SIGKILL", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
