"""The consumer's PostgreSQL side: effects, idempotency records and outcomes in one transaction.

The connection is in autocommit mode; each unit of work opens its own transaction. A session
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

EFFECTS = ("ledger.charge", "points.award")
DEAD_LETTER = "dead-letter"  # the idempotency effect of a dead-letter record


@dataclass(frozen=True)
class Order:
    """What one valid message asks for: its charge (cents), units and points."""

    value: int
    qty: int
    points: int


class Store:
    def __init__(self, address: str, pod: str, bug: str | None, idle_tx_timeout_s: float) -> None:
        host, _, port = address.rpartition(":")
        self.conninfo = {"host": host, "port": int(port), "user": "postgres",
                         "dbname": "postgres", "connect_timeout": 3,
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

    def _claim(self, run_id: str, order_id: int, effect: str) -> bool:
        """The seed's INSERT IGNORE: True for the first record of this business key only."""
        assert self.conn is not None
        row = self.conn.execute(
            "INSERT INTO msg_idempotency (msg_id, biz_key, run_id, order_id, effect) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (f"{run_id}:{order_id}", f"{run_id}:{order_id}:{effect}", run_id, order_id, effect),
        ).fetchone()
        return row is not None

    def _outcome(self, run_id: str, order_id: int, outcome: str, order: Order) -> None:
        assert self.conn is not None
        self.conn.execute(
            "INSERT INTO outcomes (run_id, order_id, outcome, t_terminal, value, qty, points, pod)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, order_id) DO NOTHING",
            (run_id, order_id, outcome, time.time_ns(), order.value, order.qty, order.points,
             self.pod))

    def apply(self, run_id: str, order_id: int, order: Order) -> int:
        """Each effect not yet recorded, its idempotency record and the outcome: one
        transaction. Returns how many effects this call applied (0: a duplicate)."""
        conn = self.connect()
        applied = 0
        with conn.transaction():
            for effect, amount in zip(EFFECTS, (order.value, order.points), strict=True):
                if not self._claim(run_id, order_id, effect):
                    continue
                conn.execute(
                    "INSERT INTO ledger (run_id, order_id, effect, amount, pod, t) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (run_id, order_id, effect, amount, self.pod, time.time_ns()))
                applied += 1
            self._outcome(run_id, order_id, "completed", order)
        return applied

    def dead_letter(self, run_id: str, order_id: int, attempts: int, reason: str) -> bool:
        """The DLQ entry and the dead-lettered outcome, once per order."""
        conn = self.connect()
        with conn.transaction():
            if not self._claim(run_id, order_id, DEAD_LETTER):
                return False
            conn.execute(
                "INSERT INTO dead_letters (run_id, order_id, attempts, reason, t) "
                "VALUES (%s, %s, %s, %s, %s)",
                (run_id, order_id, attempts, reason, time.time_ns()))
            self._outcome(run_id, order_id, "dead_lettered", Order(0, 0, 0))
        return True

    def status(self, connected: bool, ready: int) -> None:
        """This consumer's view of the broker now (the observer's `drained` query)."""
        self._log().execute(
            "INSERT INTO consumer_status (pod, t, connected, ready) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (pod) DO UPDATE SET t = excluded.t, connected = excluded.connected, "
            "ready = excluded.ready",
            (self.pod, time.time_ns(), connected, ready))
