"""The tables an own-pipeline observer reads (orders, effects, dead letters, ...) and the pure
conversion of their rows into an observations.json document (docs/observations.md).

Shared by the `sql` observer (rows from queries) and the `http-json` observer (rows from a
JSON body), so both read the same contract (docs/own-pipeline.md).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson

from chaos.checks.model import OUTCOMES
from chaos.observers.base import ObserverError

# table name -> (columns it must have, in this order; required?)
TABLES: dict[str, tuple[tuple[str, ...], bool]] = {
    "orders": (("order_id", "outcome", "t_terminal", "redeliveries", "value", "qty",
                "points"), True),
    "effects": (("effect", "order_id", "count"), True),
    "dead_letters": (("order_id", "attempts", "reason"), True),
    "totals": (("name", "value"), False),
    "handled_by": (("order_id", "pod"), False),
    "drained": (("drained",), False),
}
Rows = Callable[[str], Sequence[Sequence[Any]]]  # table name -> its rows, columns in order


@dataclass(frozen=True)
class Shape:
    """The observer settings that the document carries besides the tables."""

    observer: str
    saga: list[tuple[str, ...]]
    effect_names: list[str]
    max_attempts: int
    totals_scope: str
    bug: Any
    tables: frozenset[str]  # which optional tables the pipeline provides


def shape(observer: str, settings: dict[str, Any], tables: frozenset[str], bug: Any) -> Shape:
    """The saga / effects / max_attempts / totals_scope settings, checked."""
    saga = [tuple(map(str, pair)) for pair in settings.get("saga") or []]
    if any(len(pair) != 2 for pair in saga):
        raise ObserverError(f"{observer} observer setting saga: each entry is "
                            f"[step, compensation]")
    effect_names = [str(e) for e in settings.get("effects") or []] or [
        name for pair in saga for name in pair]
    return Shape(observer, saga, effect_names, int(settings.get("max_attempts", 0)),
                 str(settings.get("totals_scope", "run")), bug, tables)


def document(s: Shape, run_id: str, rows: Rows) -> dict[str, Any]:
    """The observations.json document for `run_id` from the tables' rows."""
    latest = {int(r[0]): r for r in rows("orders")}  # the last row of an order wins
    ids = sorted(latest)
    columns = list(zip(*(latest[i] for i in ids), strict=True)) or [()] * 7
    known: dict[Any, int] = {}  # outcome value -> code, each value checked once
    cols: dict[str, list[int]] = {
        "order_id": ids,
        "outcome": [known[v] if v in known else known.setdefault(v, _outcome(s.observer, v))
                    for v in columns[1]],
        "t_terminal": [-1 if v is None else int(v) for v in columns[2]],
    }
    for i, name in enumerate(("redeliveries", "value", "qty", "points"), start=3):
        cols[name] = [int(v or 0) for v in columns[i]]
    applied: dict[str, list[tuple[int, int]]] = {}
    for effect, oid, count in rows("effects"):
        if int(count or 0) > 0:
            applied.setdefault(str(effect), []).append((int(oid), int(count)))
    effects: dict[str, dict[str, list[int]]] = {
        name: {"order_id": [], "count": []} for name in s.effect_names}
    for name in sorted(applied):
        pairs = applied[name]
        pairs.sort(key=itemgetter(0))  # by order id: an int compare, not a tuple's
        effects[name] = {"order_id": [p[0] for p in pairs], "count": [p[1] for p in pairs]}
    dead = {"order_id": [], "attempts": [], "reason": []}  # type: dict[str, list[Any]]
    for oid, attempts, reason in rows("dead_letters"):
        dead["order_id"].append(int(oid))
        dead["attempts"].append(int(attempts or 0))
        dead["reason"].append(str(reason or "").splitlines()[0] if reason else "")
    doc: dict[str, Any] = {
        "format": "pipechaos.observations", "version": 1, "run_id": run_id,
        "observer": s.observer, "t_observed": time.time_ns(), "outcomes": list(OUTCOMES),
        "orders": cols, "effects": effects, "saga": [list(p) for p in s.saga],
        "dead_letters": dead,
        "totals": {str(n): int(v) for n, v in rows("totals")} if "totals" in s.tables else {},
        "settings": {"max_attempts": s.max_attempts, "dlq_attempts": s.max_attempts,
                     "totals_scope": s.totals_scope, "bug": s.bug},
    }
    if "handled_by" in s.tables:
        doc["handled_by"] = _handled_by(rows("handled_by"))
    return doc


def _outcome(observer: str, value: Any) -> int:
    """An outcome as the index into OUTCOMES, from its name or its code; NULL is none."""
    if value is None:
        return 0
    if isinstance(value, str) and not value.isdigit():
        if value not in OUTCOMES:
            raise ObserverError(f"{observer} observer table orders: unknown outcome {value!r} "
                                f"(use one of {', '.join(OUTCOMES)})")
        return OUTCOMES.index(value)
    code = int(value)
    if not 0 <= code < len(OUTCOMES):
        raise ObserverError(f"{observer} observer table orders: outcome code {code} "
                            f"out of range")
    return code


def _handled_by(rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
    pods: list[str] = []
    order_id: list[int] = []
    pod: list[int] = []
    for oid, name in sorted(rows, key=lambda r: (int(r[0]), str(r[1]))):
        if str(name) not in pods:
            pods.append(str(name))
        order_id.append(int(oid))
        pod.append(pods.index(str(name)))
    return {"pods": pods, "order_id": order_id, "pod": pod}


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """The cyclic garbage collector paused while millions of rows (tuples, lists) are built:
    each of them would count towards a collection that finds nothing (at 1M orders the
    collections took most of the observer's time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def write_document(path: Path, doc: dict[str, Any]) -> None:
    """observations.json, replaced atomically (a reader never sees half a file)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(doc))
    tmp.replace(path)
