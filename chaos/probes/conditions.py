"""Steady-state checks (poll until met or timed out) and abort conditions (a bound held
for a while), as small pure pieces the orchestrator and sampler drive."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chaos.probes.base import ProbeError
from chaos.spec.models import AbortCondition, ProbeCheck

Measure = Callable[[str], float]


def meets(check: ProbeCheck, value: float) -> bool:
    if check.min is not None and value < check.min:
        return False
    if check.max is not None and value > check.max:
        return False
    return not (check.equals is not None and value != check.equals)


def bounds_text(check: ProbeCheck) -> str:
    parts = [
        f"{k} {v:g}"
        for k, v in (("min", check.min), ("max", check.max), ("equals", check.equals))
        if v is not None
    ]
    return ", ".join(parts) or "any value"


def steady(
    checks: list[ProbeCheck],
    measure: Measure,
    interval_s: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """Each check polled until its bounds hold or its timeout passes; one result each."""
    results: list[dict[str, Any]] = []
    for check in checks:
        deadline = clock() + check.timeout
        value: float | None = None
        error: str | None = None
        while True:
            try:
                value, error = measure(check.probe), None
            except ProbeError as exc:
                value, error = None, str(exc) or type(exc).__name__
            ok = value is not None and meets(check, value)
            if ok or clock() >= deadline:
                break
            sleep(interval_s)
        results.append(
            {
                "probe": check.probe,
                "ok": ok,
                "value": value,
                "bounds": bounds_text(check),
                "error": error,
                "t": time.time_ns(),
            }
        )
    return results


class AbortWatch:
    """Fires when a condition has held on every sample for at least `for` seconds."""

    def __init__(self, conditions: list[AbortCondition]) -> None:
        self.conditions = conditions
        self._since: list[int | None] = [None] * len(conditions)

    def feed(self, t_ns: int, values: dict[str, float | None]) -> str | None:
        for i, cond in enumerate(self.conditions):
            value = values.get(cond.probe)
            holds = value is not None and (
                (cond.above is not None and value > cond.above)
                or (cond.below is not None and value < cond.below)
            )
            if not holds:
                self._since[i] = None
                continue
            since = self._since[i]
            if since is None:
                since = self._since[i] = t_ns
            if t_ns - since >= cond.for_ * 1e9:
                side = (
                    f"above {cond.above:g}" if cond.above is not None else f"below {cond.below:g}"
                )
                held = f" for {cond.for_:g}s" if cond.for_ else ""
                return f"abort condition: {cond.probe} = {value:g}, {side}{held}"
        return None
