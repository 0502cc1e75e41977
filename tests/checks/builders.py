"""Hand-built runs for the checker tests: a consistent pipeline outcome per order, from
which each test injects exactly the anomaly it is about.

Effects and service totals are derived from the orders (as a correct pipeline would
leave them), so a double charge injected into an order's effects also shows in the sums.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from chaos.checks.model import (
    FAIL,
    INFO,
    OK,
    OUTCOMES,
    DeadLetters,
    FaultWindow,
    History,
    Observations,
    Phases,
    Timeseries,
    Verdict,
)

S = 1_000_000_000
T0 = 1_800_000_000 * S
SAGA = [
    ("inventory.reserve", "inventory.release"),
    ("payment.charge", "payment.refund"),
    ("points.award", "points.revoke"),
]
PUBLISH = {"ok": OK, "fail": FAIL, "info": INFO}
ATTEMPTS = 5


def at(seconds: float) -> int:
    return T0 + int(seconds * S)


def default_phases() -> Phases:
    return Phases(
        bounds={
            "baseline": (at(0), at(10)),
            "fault": (at(10), at(20)),
            "recovery": (at(20), at(30)),
            "drain": (at(30), at(40)),
        },
        faults=[
            FaultWindow("f0.0", "pod.kill", at(12), at(12.5)),
            FaultWindow("f1.0", "network.partition", at(15), at(18)),
        ],
    )


@dataclass
class Order:
    id: int
    publish: str | None = "ok"  # None: never published (a phantom candidate)
    outcome: str | None = "completed"  # None: the pipeline never saw it
    t: float = 1.0  # publish offset (s)
    took: float = 0.05  # publish -> terminal (s)
    poison: bool = False
    redeliveries: int = 0
    qty: int = 2
    value: int = 1000
    points: int = 10
    steps_applied: int = 1  # compensated sagas: how many steps ran before compensating
    effects: dict[str, int] = field(default_factory=dict)  # overrides of applied counts
    dead_letters: list[tuple[int, str]] = field(default_factory=list)  # (attempts, reason)

    def applied(self) -> dict[str, int]:
        counts = {name: 0 for pair in SAGA for name in pair}
        if self.outcome == "completed":
            for step, _ in SAGA:
                counts[step] = 1
        elif self.outcome == "compensated":
            for step, comp in SAGA[: self.steps_applied]:
                counts[step] = counts[comp] = 1
        counts.update(self.effects)
        return counts


class Scenario:
    def __init__(self, initial_stock: int = 100_000, phases: Phases | None = None) -> None:
        self.orders: list[Order] = []
        self.initial_stock = initial_stock
        self.phases = phases or default_phases()
        self.settings: dict[str, Any] = {"max_attempts": ATTEMPTS}
        self.totals_override: dict[str, int] = {}
        self.drop_totals: list[str] = []

    def add(self, id: int, **kw: Any) -> Order:
        order = Order(id, **kw)
        if order.outcome == "dead_lettered" and "dead_letters" not in kw:
            order.dead_letters = [(ATTEMPTS, "payload is not valid JSON")]
        if order.poison and "qty" not in kw:
            order.qty = order.value = order.points = 0
        self.orders.append(order)
        return order

    def many(self, ids: range, **kw: Any) -> None:
        for i in ids:
            self.add(i, **kw)

    def history(self) -> History:
        rows = sorted((o for o in self.orders if o.publish), key=lambda o: o.id)
        t_invoke = np.array([at(o.t) for o in rows], dtype=np.int64)
        done = np.array(
            [-1 if o.publish == "info" else at(o.t) + 1_000_000 for o in rows], dtype=np.int64
        )
        return History(
            order_id=np.array([o.id for o in rows], dtype=np.int64),
            outcome=np.array([PUBLISH[o.publish or "ok"] for o in rows], dtype=np.int8),
            t_invoke=t_invoke,
            t_done=done,
            poison=np.array([o.poison for o in rows], dtype=np.bool_),
            error=[],
            error_code=np.full(len(rows), -1, dtype=np.int8),
        )

    def observations(self) -> Observations:
        rows = sorted((o for o in self.orders if o.outcome is not None), key=lambda o: o.id)
        ids = np.array([o.id for o in rows], dtype=np.int64)
        code = {name: i for i, name in enumerate(OUTCOMES)}
        effects: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        applied = [o.applied() for o in rows]
        for step, comp in SAGA:
            for name in (step, comp):
                counts = np.array([a[name] for a in applied], dtype=np.int64)
                keep = counts > 0
                effects[name] = (ids[keep], counts[keep])
        dl = [(o.id, a, r) for o in sorted(self.orders, key=lambda o: o.id)
              for a, r in o.dead_letters]
        return Observations(
            order_id=ids,
            outcome=np.array([code[o.outcome or "none"] for o in rows], dtype=np.int8),
            t_terminal=np.array(
                [-1 if o.outcome == "none" else at(o.t + o.took) for o in rows], dtype=np.int64
            ),
            redeliveries=np.array([o.redeliveries for o in rows], dtype=np.int64),
            value=np.array([o.value for o in rows], dtype=np.int64),
            qty=np.array([o.qty for o in rows], dtype=np.int64),
            points=np.array([o.points for o in rows], dtype=np.int64),
            effects=effects,
            saga=list(SAGA),
            dead_letters=DeadLetters(
                np.array([d[0] for d in dl], dtype=np.int64),
                np.array([d[1] for d in dl], dtype=np.int64),
                [d[2] for d in dl],
            ),
            totals=self.totals(rows, applied),
            settings=dict(self.settings),
        )

    def totals(self, rows: list[Order], applied: list[dict[str, int]]) -> dict[str, int]:
        pairs = list(zip(rows, applied, strict=True))

        def net(a: str, b: str, attr: str) -> int:
            return sum(getattr(o, attr) * (x[a] - x[b]) for o, x in pairs)

        reserved = net("inventory.reserve", "inventory.release", "qty")
        totals = {
            "initial_stock": self.initial_stock,
            "stock": self.initial_stock - reserved,
            "reserved": reserved,
            "charged": sum(o.value * x["payment.charge"] for o, x in pairs),
            "refunded": sum(o.value * x["payment.refund"] for o, x in pairs),
            "points": net("points.award", "points.revoke", "points"),
        }
        totals.update(self.totals_override)
        for key in self.drop_totals:
            totals.pop(key, None)
        return totals

    def run(self, check: Any, params: dict[str, Any] | None = None,
            timeseries: Timeseries | None = None) -> Verdict:
        ts = timeseries or Timeseries(np.zeros(0, np.int64), {})
        verdict: Verdict = check(
            self.history(), self.observations(), ts, self.phases, dict(params or {})
        )
        return verdict


def observations_json(obs: Observations) -> bytes:
    """observations.json (docs/observations.md, version 1) for an Observations."""
    doc = {
        "format": "pipechaos.observations",
        "version": 1,
        "run_id": "r-test",
        "observer": "test",
        "t_observed": T0,
        "outcomes": list(OUTCOMES),
        "orders": {
            "order_id": obs.order_id, "outcome": obs.outcome.astype(np.int64),
            "t_terminal": obs.t_terminal, "redeliveries": obs.redeliveries,
            "value": obs.value, "qty": obs.qty, "points": obs.points,
        },
        "effects": {k: {"order_id": i, "count": c} for k, (i, c) in obs.effects.items()},
        "saga": [list(p) for p in obs.saga],
        "dead_letters": {
            "order_id": obs.dead_letters.order_id,
            "attempts": obs.dead_letters.attempts,
            "reason": obs.dead_letters.reason,
        },
        "totals": obs.totals,
        "settings": obs.settings,
    }
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)


def write_timeseries(path: Path, rows: list[dict[str, Any]]) -> None:
    lines = [orjson.dumps({"format": "pipechaos.timeseries", "version": 1})]
    lines += [orjson.dumps(r) for r in rows]
    path.write_bytes(b"\n".join(lines) + b"\n")


def series(t_s: list[float], **columns: list[float | None]) -> Timeseries:
    return Timeseries(
        t=np.array([at(x) for x in t_s], dtype=np.int64),
        columns={
            k: np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
            for k, vals in columns.items()
        },
    )
