"""Steady-state checks (poll until met or timed out) and abort conditions (a bound held
for a while), as small pure pieces the orchestrator and sampler drive."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from chaos.probes.base import ProbeError
from chaos.spec.models import AbortCondition, ProbeCheck

Measure = Callable[[str], float]
Total = Callable[[str], float | None]
BOUNDS = ("min", "max", "equals")


def concrete(check: ProbeCheck, total: float | None) -> ProbeCheck | str:
    """The check with each `all` bound replaced by the probe's declared total; a reason
    when a bound says `all` and the probe declares none."""
    wanted = {k: total for k in BOUNDS if getattr(check, k) == "all"}
    if not wanted:
        return check
    if total is None:
        return f"{check.probe} declares no total, so a bound cannot be `all`"
    return msgspec.structs.replace(check, **wanted)


def meets(check: ProbeCheck, value: float) -> bool:
    """`check` as returned by concrete(): every bound a number."""
    low, high, equal = check.min, check.max, check.equals
    if isinstance(low, float | int) and value < low:
        return False
    if isinstance(high, float | int) and value > high:
        return False
    return not (isinstance(equal, float | int) and value != equal)


def bounds_text(check: ProbeCheck, written: ProbeCheck | None = None) -> str:
    """`min 7 (all)`: the bound used, and how the file wrote it when that was `all`."""
    shown = written or check
    parts = [
        f"{k} {v:g}" + (" (all)" if getattr(shown, k) == "all" else "")
        if isinstance(v, float | int)
        else f"{k} {v}"
        for k, v in ((k, getattr(check, k)) for k in BOUNDS)
        if v is not None
    ]
    return ", ".join(parts) or "any value"


def steady(
    checks: list[ProbeCheck],
    measure: Measure,
    interval_s: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    total: Total = lambda probe: None,
    comparator: Callable[[str], Any] = lambda probe: None,
) -> list[dict[str, Any]]:
    """Each check polled until its bounds hold or its timeout passes; one result each.
    `total(probe)` is what a bound written `all` means (None: that probe has none);
    `comparator(probe)` is the probe's own bound (`holds(v)`, `text()`), used by a check
    that gives none (prometheus members)."""
    results: list[dict[str, Any]] = []
    for written in checks:
        own = None if any(getattr(written, k) is not None for k in BOUNDS) else (
            comparator(written.probe))
        made = concrete(written, total(written.probe))
        value: float | None = None
        ok = False
        if isinstance(made, str):
            check, error = written, made  # not measured: the bound itself is meaningless
        else:
            check, error = made, None
            deadline = clock() + check.timeout
            while True:
                try:
                    value, error = measure(check.probe), None
                except ProbeError as exc:
                    value, error = None, str(exc) or type(exc).__name__
                ok = value is not None and (own.holds(value) if own else meets(check, value))
                if ok or clock() >= deadline:
                    break
                sleep(interval_s)
        results.append(
            {
                "probe": check.probe,
                "ok": ok,
                "value": value,
                "bounds": own.text() if own else bounds_text(check, written),
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
