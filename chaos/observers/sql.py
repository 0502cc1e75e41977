"""`sql` observer: the pipeline's final state from its own database, through SQLAlchemy.

The target's settings hold one query per table of observations.json (docs/observations.md,
docs/own-pipeline.md), each bound to `:run_id`. prepare() runs every query once (for a run id
that matches nothing) and checks the columns it returns, so a typo, a missing column or an
unreachable database ends the run with one line before any fault. SQLAlchemy is imported
here only: `validate` and `--help` never load it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_errors

from chaos.observers.base import ObserverError
from chaos.observers.tables import TABLES, bulk, document, shape, write_document

if TYPE_CHECKING:
    from chaos.platforms.base import Platform

QUERIES = TABLES  # query name -> (columns it must return, required?)
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
        self.shape = shape("sql", settings, frozenset(queries), getattr(platform, "bug", None))
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
        write_document(path, self.collect(run_id))

    def collect(self, run_id: str) -> dict[str, Any]:
        """The observations.json document for `run_id` (docs/observations.md)."""
        with bulk():
            return document(self.shape, run_id, lambda name: self._rows(name, run_id))

    def _rows(self, name: str, run_id: str) -> list[Any]:
        """The rows of query `name`, or ObserverError naming the query and the cause."""
        query = self.queries[name]
        params = {"run_id": run_id} if "run_id" in query.compile().params else {}
        try:
            with self.engine.connect() as conn:
                result = conn.execute(query, params)
                columns = [str(c).lower() for c in result.keys()]  # noqa: SIM118
                # one fetchall of plain tuples from the driver: iterating the result fetches
                # row by row and builds a Row each (four times slower at 1M orders)
                rows = list(result.cursor.fetchall()) if result.returns_rows else []
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

