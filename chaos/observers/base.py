"""How the final state of a pipeline is read after drain (writes observations.json)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chaos.platforms.base import Platform


class ObserverError(Exception):
    """Bad observer settings, an unreachable source or a failing query: one line, which
    ends the run with status error (exit 3)."""


class Observer(Protocol):
    def __init__(self, settings: dict[str, Any], platform: Platform) -> None: ...

    # Optional: `prepare(self) -> None` reads the source once before any fault (e.g. runs
    # every query) and raises ObserverError naming what is wrong.

    def drained(self) -> bool:
        """True when nothing is left to process (lag and pending are zero)."""

    def observe(self, run_id: str, path: Path) -> None:
        """Write observations.json (docs/observations.md) for this run's orders."""
