"""The consumer's PostgreSQL side: effects, idempotency records and outcomes in one transaction.

The connection is in autocommit mode; each unit of work is one statement (data-modifying
CTEs), hence one transaction and one round trip. A session
idle inside a transaction longer than `idle_tx_timeout` is ended by the server, so a consumer
frozen mid-transaction (SIGSTOP, a long GC pause) cannot hold the UNIQUE key's lock and stall
the consumer that got its redelivered message. Diagnostics (the delivery log, the status)
go through a second connection with asynchronous commit: one round trip each, no fsync wait.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import psycopg

from targets.rabbit_sql.schema import LOCK, ddl

EFFECTS = ("ledger.charge", "points.award")  # in APPLY: amount = value, points

# The seed's "INSERT IGNORE" on the UNIQUE business key: an effect is applied only when its
# idempotency record was inserted by this very statement.
APPLY = """
WITH wanted (name, amount) AS (
    VALUES ('ledger.charge', %(value)s::bigint), ('points.award', %(points)s::bigint)),
claimed AS (
    INSERT INTO msg_idempotency (msg_id, biz_key, run_id, order_id, effect)
    SELECT %(msg)s, %(msg)s || ':' || name, %(run)s, %(order)s, name FROM wanted
    ON CONFLICT DO NOTHING
    RETURNING effect),
applied AS (
    INSERT INTO ledger (run_id, order_id, effect, amount, pod, t)
    SELECT %(run)s, %(order)s, name, amount, %(pod)s, %(t)s
    FROM wanted JOIN claimed ON claimed.effect = wanted.name
    RETURNING 1),
outcome AS (
    INSERT INTO outcomes (run_id, order_id, outcome, t_terminal, value, qty, points, pod)
    VALUES (%(run)s, %(order)s, 'completed', %(t)s, %(value)s, %(qty)s, %(points)s, %(pod)s)
    ON CONFLICT (run_id, order_id) DO NOTHING)
SELECT count(*) FROM applied
"""

DEAD_LETTER = """
WITH claimed AS (
    INSERT INTO msg_idempotency (msg_id, biz_key, run_id, order_id, effect)
    VALUES (%(msg)s, %(msg)s || ':dead-letter', %(run)s, %(order)s, 'dead-letter')
    ON CONFLICT DO NOTHING
    RETURNING 1),
entry AS (
    INSERT INTO dead_letters (run_id, order_id, attempts, reason, t)
    SELECT %(run)s, %(order)s, %(attempts)s, %(reason)s, %(t)s FROM claimed
    RETURNING 1),
outcome AS (
    INSERT INTO outcomes (run_id, order_id, outcome, t_terminal, value, qty, points, pod)
    SELECT %(run)s, %(order)s, 'dead_lettered', %(t)s, 0, 0, 0, %(pod)s FROM claimed
    ON CONFLICT (run_id, order_id) DO NOTHING)
SELECT count(*) FROM entry
"""


@dataclass(frozen=True)
class Order:
    """What one valid message asks for: its charge (cents), units and points."""

    value: int
    qty: int
    points: int


class Store:
    def __init__(self, address: str, pod: str, bug: str | None, idle_tx_timeout_s: float,
                 dbname: str = "postgres") -> None:
        host, _, port = address.rpartition(":")
        self.conninfo = {"host": host, "port": int(port), "user": "postgres",
                         "dbname": dbname, "connect_timeout": 3,
                         "options": "-c idle_in_transaction_session_timeout="
                                    f"{int(idle_tx_timeout_s * 1000)}"}
        self.pod, self.bug = pod, bug
        self.conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.log: psycopg.Connection[tuple[object, ...]] | None = None

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """The open connection, or a new one (after the server ended the last)."""
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(autocommit=True, **self.conninfo)  # type: ignore[arg-type]
        return self.conn

    def _log(self) -> psycopg.Connection[tuple[object, ...]]:
        if self.log is None or self.log.closed:
            info = {**self.conninfo, "options": "-c synchronous_commit=off"}
            self.log = psycopg.connect(autocommit=True, **info)  # type: ignore[arg-type]
        return self.log

    def drop(self) -> None:
        """Forget the connections after an error: the next call opens fresh ones."""
        for conn in (self.conn, self.log):
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    conn.close()
        self.conn = self.log = None

    def create_schema(self) -> None:
        conn = self.connect()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
            conn.execute(ddl(self.bug))

    def log_delivery(self, run_id: str, order_id: int, redelivered: bool, attempt: int) -> None:
        """One row per delivery (diagnostics, not the outcome)."""
        self._log().execute(
            "INSERT INTO deliveries (run_id, order_id, pod, redelivered, attempt, t) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (run_id, order_id, self.pod, redelivered, attempt, time.time_ns()))

    def apply(self, run_id: str, order_id: int, order: Order) -> int:
        """Each effect whose business key is new, with its idempotency record, and the
        outcome: one statement, so one transaction. Returns how many effects it applied
        (0: a duplicate delivery)."""
        row = self.connect().execute(APPLY, {
            "msg": f"{run_id}:{order_id}", "run": run_id, "order": order_id, "pod": self.pod,
            "t": time.time_ns(), "value": order.value, "qty": order.qty,
            "points": order.points}).fetchone()
        return int(str(row[0])) if row else 0

    def dead_letter(self, run_id: str, order_id: int, attempts: int, reason: str) -> bool:
        """The DLQ entry and the dead-lettered outcome, once per order (one transaction)."""
        row = self.connect().execute(DEAD_LETTER, {
            "msg": f"{run_id}:{order_id}", "run": run_id, "order": order_id, "pod": self.pod,
            "t": time.time_ns(), "attempts": attempts, "reason": reason}).fetchone()
        return bool(row and row[0])

    def status(self, connected: bool, ready: int) -> None:
        """This consumer's view of the broker now (the observer's `drained` query)."""
        self._log().execute(
            "INSERT INTO consumer_status (pod, t, connected, ready) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (pod) DO UPDATE SET t = excluded.t, connected = excluded.connected, "
            "ready = excluded.ready",
            (self.pod, time.time_ns(), connected, ready))
