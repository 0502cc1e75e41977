"""Drain: after the load stops, wait until the observer says every order reached a
terminal state, or the drain timeout passes (then the checks run anyway)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from chaos.run.errors import one_line

log = logging.getLogger("pipechaos")
POLL_S = 0.2


def wait_drained(observer: Any, timeout_s: float, check_deadline: Callable[[], None],
                 note: Callable[[str], None]) -> bool | None:
    """True drained, False timed out, None without an observer to ask. `check_deadline`
    raises when the run must stop (allowed hours, maximum duration)."""
    if observer is None:
        return None
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if observer.drained():
                return True
        except Exception as exc:
            log.debug("drained() raised %s", one_line(exc))
        check_deadline()
        if time.monotonic() >= deadline:
            note("drain timed out; checking anyway")
            return False
        time.sleep(POLL_S)
