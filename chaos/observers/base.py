"""How the final state of a pipeline is read after drain (writes observations.json)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chaos.platforms.base import Platform


class Observer(Protocol):
    def __init__(self, settings: dict[str, Any], platform: Platform) -> None: ...

    def drained(self) -> bool:
        """True when nothing is left to process (lag and pending are zero)."""

    def observe(self, run_id: str, path: Path) -> None:
        """Write observations.json (docs/observations.md) for this run's orders."""
