"""How load reaches a pipeline. Runs inside the load processes (Locust), never the runner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from chaos.spec.units import parse_duration

Outcome = Literal["ok", "fail", "info"]


@dataclass(frozen=True)
class PublishResult:
    outcome: Outcome  # ok: broker acknowledged; fail: certainly not enqueued; info: unknown
    error: str | None = None  # error class name, e.g. "ConnectionRefusedError"


class Publisher(Protocol):
    def __init__(self, settings: dict[str, Any], run_id: str) -> None: ...

    def publish(self, order_id: int, payload: bytes) -> PublishResult: ...

    def close(self) -> None: ...


def seconds_setting(settings: dict[str, Any], key: str, default: float, who: str) -> float:
    """A positive duration setting (`2s`, `500ms` or a number of seconds); a bad one is a
    one-line ValueError naming the publisher (`who`) and the key."""
    value = settings.get(key, default)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    try:
        seconds = parse_duration(value)
    except ValueError as e:
        raise ValueError(f"{who} setting {key}: {e}") from None
    if seconds <= 0:
        raise ValueError(f"{who} setting {key} must be positive")
    return seconds
