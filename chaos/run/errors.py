"""How the runner ends a run early (Stop) and names an unexpected exception: one line."""

from __future__ import annotations


class Stop(Exception):
    """Ends the timeline early with a status (not_steady, aborted, error)."""

    def __init__(self, status: str, reason: str) -> None:
        self.status, self.reason = status, reason
        super().__init__(reason)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
