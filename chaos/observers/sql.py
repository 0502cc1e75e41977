"""`sql` observer: the pipeline's final state from its own database, through SQLAlchemy.

The target's settings hold one query per table of observations.json (docs/observations.md,
docs/own-pipeline.md), each bound to `:run_id`. prepare() runs every query once (for a run id
that matches nothing) and checks the columns it returns, so a typo, a missing column or an
unreachable database ends the run with one line before any fault. SQLAlchemy is imported
here only: `validate` and `--help` never load it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy import exc as sa_errors

from chaos.checks.model import OUTCOMES
from chaos.observers.base import ObserverError

if TYPE_CHECKING:
    from chaos.platforms.base import Platform

# query name -> (columns it must return, required?)
QUERIES: dict[str, tuple[tuple[str, ...], bool]] = {
    "orders": (("order_id", "outcome", "t_terminal", "redeliveries", "value", "qty",
                "points"), True),
    "effects": (("effect", "order_id", "count"), True),
    "dead_letters": (("order_id", "attempts", "reason"), True),
    "totals": (("name", "value"), False),
    "handled_by": (("order_id", "pod"), False),
    "drained": (("drained",), False),
}
_SETTINGS = {"url", "queries", "saga", "effects", "max_attempts", "totals_scope",
             "connect_timeout"}
_NOTHING = "pipechaos-prepare-matches-no-run"


def _one_line(e: BaseException) -> str:
    """The driver's own message, first line, without SQLAlchemy's background links."""
    inner = getattr(e, "orig", None) or e
    lines = [s.strip() for s in str(inner).strip().splitlines() if s.strip()]
    return lines[0] if lines else type(inner).__name__


class SqlObserver:
    """Observer plugin (chaos.observers.base.Observer) reading SQL query results.

    Settings: url (SQLAlchemy URL, e.g. postgresql+psycopg://user@host:port/db), queries
    (orders, effects, dead_letters required; totals, handled_by, drained optional), saga
    (pairs [step, compensation]), effects (effect names always reported, default those of
    `saga`), max_attempts, totals_scope (run|deployment, default run), connect_timeout.
    """

    description = "reads outcomes, effects and dead letters with SQL queries (SQLAlchemy)"

    def __init__(self, settings: dict[str, Any], platform: Platform | None = None) -> None:
        unknown = set(settings) - _SETTINGS
        if unknown:
            raise ObserverError(f"unknown sql observer setting(s): {', '.join(sorted(unknown))}")
        queries = settings.get("queries")
        if not isinstance(queries, dict):
            raise ObserverError("sql observer setting queries must be a mapping of name: SQL")
        extra = set(queries) - set(QUERIES)
        missing = [n for n, (_, required) in QUERIES.items() if required and n not in queries]
        if extra or missing:
            raise ObserverError(
                f"sql observer queries: unknown {sorted(extra)}, missing {missing} "
                f"(known: {', '.join(QUERIES)})")
        self.queries = {name: sa.text(str(sql)) for name, sql in queries.items()}
        self.saga = [tuple(map(str, pair)) for pair in settings.get("saga") or []]
        if any(len(pair) != 2 for pair in self.saga):
            raise ObserverError("sql observer setting saga: each entry is [step, compensation]")
        self.effect_names = [str(e) for e in settings.get("effects") or []] or [
            name for pair in self.saga for name in pair]
        self.max_attempts = int(settings.get("max_attempts", 0))
        self.totals_scope = str(settings.get("totals_scope", "run"))
        self.bug = getattr(platform, "bug", None)
        url = str(settings.get("url") or "")
        try:
            parsed = sa.engine.make_url(url)
        except sa_errors.ArgumentError:
            raise ObserverError(f"sql observer setting url is not a database URL: {url!r}") \
                from None
        self.where = parsed.render_as_string(hide_password=True)
        args = {"connect_timeout": int(settings.get("connect_timeout", 5))}
        if not parsed.drivername.startswith("postgresql"):
            args = {}
        try:
            self.engine = sa.create_engine(parsed, connect_args=args, pool_size=2)
        except (sa_errors.ArgumentError, ImportError) as e:
            raise ObserverError(f"sql observer {self.where}: {_one_line(e)}") from None

    def prepare(self) -> None:
        """Run every query once and check its columns; ObserverError (one line) if not."""
        for name in self.queries:
            self._rows(name, _NOTHING)

    def drained(self) -> bool:
        if "drained" not in self.queries:
            return True
        rows = self._rows("drained", "")
        return bool(rows) and bool(rows[0][0])

    def observe(self, run_id: str, path: Path) -> None:
        doc = self.collect(run_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(doc))
        tmp.replace(path)

    def collect(self, run_id: str) -> dict[str, Any]:
        """The observations.json document for `run_id` (docs/observations.md)."""
        orders = sorted({int(r[0]): r for r in self._rows("orders", run_id)}.items())
        cols: dict[str, list[int]] = {c: [] for c in QUERIES["orders"][0]}
        for oid, row in orders:
            cols["order_id"].append(oid)
            cols["outcome"].append(_outcome(row[1]))
            cols["t_terminal"].append(-1 if row[2] is None else int(row[2]))
            for i, name in enumerate(("redeliveries", "value", "qty", "points"), start=3):
                cols[name].append(int(row[i] or 0))
        effects: dict[str, dict[str, list[int]]] = {
            name: {"order_id": [], "count": []} for name in self.effect_names}
        for effect, oid, count in sorted(self._rows("effects", run_id),
                                         key=lambda r: (str(r[0]), int(r[1]))):
            if int(count or 0) > 0:
                table = effects.setdefault(str(effect), {"order_id": [], "count": []})
                table["order_id"].append(int(oid))
                table["count"].append(int(count))
        dead = {"order_id": [], "attempts": [], "reason": []}  # type: dict[str, list[Any]]
        for oid, attempts, reason in self._rows("dead_letters", run_id):
            dead["order_id"].append(int(oid))
            dead["attempts"].append(int(attempts or 0))
            dead["reason"].append(str(reason or "").splitlines()[0] if reason else "")
        doc: dict[str, Any] = {
            "format": "pipechaos.observations", "version": 1, "run_id": run_id,
            "observer": "sql", "t_observed": time.time_ns(), "outcomes": list(OUTCOMES),
            "orders": cols, "effects": effects, "saga": [list(p) for p in self.saga],
            "dead_letters": dead,
            "totals": {str(n): int(v) for n, v in self._rows("totals", run_id)}
            if "totals" in self.queries else {},
            "settings": {"max_attempts": self.max_attempts, "dlq_attempts": self.max_attempts,
                         "totals_scope": self.totals_scope, "bug": self.bug},
        }
        if "handled_by" in self.queries:
            doc["handled_by"] = _handled_by(self._rows("handled_by", run_id))
        return doc

    def _rows(self, name: str, run_id: str) -> list[Any]:
        """The rows of query `name`, or ObserverError naming the query and the cause."""
        query = self.queries[name]
        params = {"run_id": run_id} if "run_id" in query.compile().params else {}
        try:
            with self.engine.connect() as conn:
                result = conn.execute(query, params)
                columns = [str(c).lower() for c in result.keys()]  # noqa: SIM118
                rows = list(result)
        except sa_errors.OperationalError as e:
            raise ObserverError(f"sql observer cannot reach {self.where}: {_one_line(e)}") from None
        except sa_errors.SQLAlchemyError as e:
            raise ObserverError(f"sql observer query {name}: {_one_line(e)}") from None
        want = list(QUERIES[name][0])
        if columns[: len(want)] != want:
            raise ObserverError(
                f"sql observer query {name} returns columns ({', '.join(columns)}); "
                f"it must return ({', '.join(want)}) in this order")
        return rows


def _outcome(value: Any) -> int:
    """An outcome as the index into OUTCOMES, from its name or its code; NULL is none."""
    if value is None:
        return 0
    if isinstance(value, str) and not value.isdigit():
        if value not in OUTCOMES:
            raise ObserverError(f"sql observer query orders: unknown outcome {value!r} "
                                f"(use one of {', '.join(OUTCOMES)})")
        return OUTCOMES.index(value)
    code = int(value)
    if not 0 <= code < len(OUTCOMES):
        raise ObserverError(f"sql observer query orders: outcome code {code} out of range")
    return code


def _handled_by(rows: list[Any]) -> dict[str, list[Any]]:
    pods: list[str] = []
    order_id: list[int] = []
    pod: list[int] = []
    for oid, name in sorted(rows, key=lambda r: (int(r[0]), str(r[1]))):
        if str(name) not in pods:
            pods.append(str(name))
        order_id.append(int(oid))
        pod.append(pods.index(str(name)))
    return {"pods": pods, "order_id": order_id, "pod": pod}
