"""Outcome events (one message per order, effect, dead letter, ...) folded into the tables
that the own-pipeline observers share (chaos/observers/tables.py).

Pure: the `outcome-stream` observer reads the events from a Redis stream or a RabbitMQ queue
and hands them here as (message id, fields). An event is a flat mapping: `table` (default
`orders`), `run_id` (events of other runs are skipped; an event without one counts for every
run) and the table's columns. Only the identifying columns are required; the others have
defaults, so a consumer can emit e.g. `{order_id, outcome, t_terminal}` and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chaos.observers.base import ObserverError
from chaos.observers.tables import TABLES

# table -> default of each column that may be left out (the other columns are required)
DEFAULTS: dict[str, dict[str, Any]] = {
    "orders": {"t_terminal": None, "redeliveries": 0, "value": 0, "qty": 0, "points": 0},
    "effects": {"count": 1},
    "dead_letters": {"attempts": 0, "reason": ""},
    "totals": {},
    "handled_by": {},
}
Event = tuple[str, Mapping[str, Any]]  # (message id, fields)


def check_event(where: str, ident: str, fields: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """The event's table and its row in column order; ObserverError (one line) if it is not
    an outcome event. Empty strings (Redis has no NULL) read as NULL."""
    if not isinstance(fields, Mapping):
        raise ObserverError(f"outcome-stream observer {where} message {ident}: an event is an "
                            f"object of fields, got {type(fields).__name__}")
    fields = {str(k): _value(v) for k, v in fields.items()}
    table = str(fields.get("table") or "orders")
    if table not in DEFAULTS:
        raise ObserverError(f"outcome-stream observer {where} message {ident}: unknown table "
                            f"{table!r} (use one of {', '.join(DEFAULTS)})")
    defaults = DEFAULTS[table]
    columns = TABLES[table][0]
    missing = [c for c in columns if c not in defaults and fields.get(c) is None]
    if missing:
        raise ObserverError(f"outcome-stream observer {where} message {ident} is not an outcome "
                            f"event: table {table} needs {', '.join(missing)} "
                            f"(fields: {', '.join(map(str, fields)) or 'none'})")
    row = (defaults.get(c) if fields.get(c) is None else fields[c] for c in columns)
    return table, tuple(row)


def fold(where: str, events: Iterable[Event], run_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """The tables for `run_id` from its events, in message order: the last event of an order
    (or of a total) wins; effect counts add up; handled_by pairs are kept once."""
    orders: dict[Any, tuple[Any, ...]] = {}
    effects: dict[tuple[str, int], int] = {}
    dead: list[tuple[Any, ...]] = []
    totals: dict[str, Any] = {}
    handled: dict[tuple[Any, ...], None] = {}
    for ident, fields in events:
        table, row = check_event(where, ident, fields)
        event_run = _value(fields.get("run_id"))
        if event_run is not None and str(event_run) != run_id:
            continue
        try:
            if table == "orders":
                orders[int(row[0])] = row
            elif table == "effects":
                key = (str(row[0]), int(row[1]))
                effects[key] = effects.get(key, 0) + int(row[2])
            elif table == "dead_letters":
                dead.append(row)
            elif table == "totals":
                totals[str(row[0])] = int(row[1])
            else:
                handled[(int(row[0]), str(row[1]))] = None
        except (TypeError, ValueError) as e:
            raise ObserverError(f"outcome-stream observer {where} message {ident}: a value of "
                                f"the wrong type ({e})") from None
    return {
        "orders": list(orders.values()),
        "effects": [(e, oid, n) for (e, oid), n in effects.items()],
        "dead_letters": dead,
        "totals": list(totals.items()),
        "handled_by": list(handled),
    }


def _value(value: Any) -> Any:
    """A field's value; bytes decoded, an empty string or JSON null is NULL."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return None if value == "" else value
