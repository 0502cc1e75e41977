"""Phase boundaries and the fault event queue, computed from the plan (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from chaos.run.plan import Occurrence


@dataclass(frozen=True, order=True)
class Event:
    at_s: float  # offset from t = 0
    order: int  # reverts before applies at the same instant
    kind: str  # "apply" | "revert"
    occurrence: Occurrence


def events(occurrences: list[Occurrence]) -> list[Event]:
    """Apply at each start; revert at each end (instant faults revert right after verify,
    inside the apply step, so they have no revert event)."""
    out = [Event(o.at_s, 1, "apply", o) for o in occurrences]
    out += [Event(o.until_s, 0, "revert", o) for o in occurrences if o.until_s is not None]
    return sorted(out, key=lambda e: (e.at_s, e.order, e.occurrence.id))


def fault_span(occurrences: list[Occurrence]) -> tuple[float, float] | None:
    """[first start, last end] offsets, or None without faults."""
    if not occurrences:
        return None
    start = min(o.at_s for o in occurrences)
    end = max(o.until_s if o.until_s is not None else o.at_s for o in occurrences)
    return start, end
