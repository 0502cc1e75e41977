"""How load reaches a pipeline. Runs inside the load processes (Locust), never the runner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

Outcome = Literal["ok", "fail", "info"]


@dataclass(frozen=True)
class PublishResult:
    outcome: Outcome  # ok: broker acknowledged; fail: certainly not enqueued; info: unknown
    error: str | None = None  # error class name, e.g. "ConnectionRefusedError"


class Publisher(Protocol):
    def __init__(self, settings: dict[str, Any], run_id: str) -> None: ...

    def publish(self, order_id: int, payload: bytes) -> PublishResult: ...

    def close(self) -> None: ...
