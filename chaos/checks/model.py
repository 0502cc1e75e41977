"""The data every checker judges: plain arrays and records, loaded once, never mutated.

Columnar (numpy) so that a 10,000,000-publish run is checked in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

# Publish outcomes in History.outcome (Jepsen's vocabulary).
OK = 1
FAIL = 2
INFO = 3  # indeterminate: timeout, connection lost after sending, load process died

I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
Bool = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]
Ints = npt.NDArray[np.signedinteger[Any]]  # any signed width (loaders narrow small counts)


@dataclass(frozen=True)
class History:
    """One row per order id (invoke + its single completion), sorted by `order_id`.

    An invoked order whose completion was never written has outcome INFO and
    `t_done` == -1.
    """

    order_id: I64
    outcome: I8  # OK / FAIL / INFO
    t_invoke: I64  # epoch ns
    t_done: I64  # epoch ns, -1 when unknown
    poison: Bool  # the payload was deliberately malformed
    error: list[str]  # error class names; History.error_code indexes into it
    error_code: I8  # -1 = no error


@dataclass(frozen=True)
class Observations:
    """Final state of the pipeline after drain (observations.json, format version 1).

    Orders: one row per order the pipeline saw, sorted by `order_id`.
    `outcome` codes: see OUTCOMES.  Effects: for each effect name
    (`inventory.reserve`, ...), parallel arrays of order ids and how many times that
    effect was *applied* for the order.
    """

    order_id: I64
    outcome: I8  # index into OUTCOMES
    t_terminal: I64  # epoch ns, -1 when not terminal
    redeliveries: Ints  # deliveries beyond the first
    value: Ints  # money the order is worth when completed (cents)
    qty: Ints  # units of stock it reserves
    points: Ints  # points it awards when completed
    effects: dict[str, tuple[Ints, Ints]]  # effect -> (order ids, applied counts)
    saga: list[tuple[str, str]]  # (step effect, its compensation), in saga order
    dead_letters: DeadLetters
    totals: dict[str, int]  # initial_stock, stock, reserved, charged, refunded, points
    settings: dict[str, Any] = field(default_factory=dict)  # e.g. dlq_attempts
    handled_by: HandledBy | None = None  # which pods ran each saga (optional section)


OUTCOMES = ("none", "completed", "compensated", "dead_lettered")
NONE, COMPLETED, COMPENSATED, DEAD_LETTERED = range(4)


@dataclass(frozen=True)
class HandledBy:
    """The pods that ran each order's saga: one row per (order, pod), sorted by order id
    (an order run by two consumers, e.g. after a reclaim, has two rows)."""

    order_id: I64
    pod: Ints  # index into `pods`
    pods: list[str]

    def of(self, order_id: int) -> set[str]:
        lo, hi = np.searchsorted(self.order_id, [order_id, order_id + 1])
        return {self.pods[int(i)] for i in self.pod[int(lo) : int(hi)]}


@dataclass(frozen=True)
class DeadLetters:
    order_id: I64  # one row per dead-letter entry (an order twice = a duplicate)
    attempts: Ints
    reason: list[str]


@dataclass(frozen=True)
class Timeseries:
    """Sampler rows (timeseries.jsonl): time and one column per probe (NaN = failed)."""

    t: I64
    columns: dict[str, npt.NDArray[np.float64]]


@dataclass(frozen=True)
class FaultWindow:
    id: str  # action or occurrence id, e.g. "f0.1"
    type: str  # fault type name
    start: int  # epoch ns
    end: int  # epoch ns (instant faults: start + time to verify)
    pods: tuple[str, ...] = ()  # pods its actions touched (pod faults)
    proxies: tuple[str, ...] = ()  # proxies its actions touched (network, timeout faults)


@dataclass(frozen=True)
class Phases:
    """Phase boundaries (epoch ns) and the fault windows, from journal.jsonl."""

    bounds: dict[str, tuple[int, int]]  # prepare/baseline/fault/recovery/drain/...
    faults: list[FaultWindow]

    def phase_of(self, t: int) -> str:
        for name, (start, end) in self.bounds.items():
            if start <= t < end:
                return name
        return "outside"


@dataclass(frozen=True)
class Offender:
    id: int
    phase: str
    fault: str | None  # id of the fault blamed for it (chaos.checks.blame), if any
    blame: str | None = None  # the rule that chose it: pod | hop | time


@dataclass(frozen=True)
class Verdict:
    name: str
    ok: bool
    summary: str
    metrics: dict[str, Any]
    offenders_total: int = 0
    offenders: tuple[Offender, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "summary": self.summary,
            "metrics": self.metrics,
            "offenders": {
                "total": self.offenders_total,
                "sample": [
                    {"id": o.id, "phase": o.phase, "fault": o.fault, "blame": o.blame}
                    for o in self.offenders
                ],
            },
        }
