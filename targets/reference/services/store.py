"""Durable, idempotent effect store shared by the three services (SQLite, WAL).

Why: a service must apply an effect at most once per idempotency key and survive a
restart, and the observer must count *applied* effects per order (not requests). One
row in `effects` per application; one row in `requests` per idempotency key holding the
response, so a replay returns the same answer without touching state.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from targets.reference.services import fence

Response = tuple[int, dict[str, Any]]
Handler = Callable[["Tx", dict[str, Any]], Response]

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (key TEXT PRIMARY KEY, status INTEGER, body BLOB);
CREATE TABLE IF NOT EXISTS effects (
  id INTEGER PRIMARY KEY, run_id TEXT, order_id INTEGER, effect TEXT,
  amount INTEGER, undone INTEGER DEFAULT 0);
CREATE INDEX IF NOT EXISTS effects_by_order ON effects (run_id, order_id, effect);
CREATE TABLE IF NOT EXISTS kv (name TEXT PRIMARY KEY, value INTEGER);
CREATE TABLE IF NOT EXISTS tombstones (
  run_id TEXT, order_id INTEGER, effect TEXT, PRIMARY KEY (run_id, order_id, effect));
CREATE TABLE IF NOT EXISTS applied_by (key TEXT PRIMARY KEY, effect_id INTEGER);
"""


class Tx:
    """What a handler may do inside one transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.applied: list[int] = []  # effect rows this request applied

    def get(self, name: str, default: int = 0) -> int:
        row = self.db.execute("SELECT value FROM kv WHERE name=?", (name,)).fetchone()
        return int(row[0]) if row else default

    def add(self, name: str, delta: int) -> None:
        self.db.execute(
            "INSERT INTO kv(name, value) VALUES(?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, delta),
        )

    def cancelled(self, run_id: str, order_id: int, effect: str) -> bool:
        """The effect was compensated before it was ever applied (see undo_one)."""
        return self.db.execute(
            "SELECT 1 FROM tombstones WHERE run_id=? AND order_id=? AND effect=?",
            (run_id, order_id, effect),
        ).fetchone() is not None

    def apply(self, run_id: str, order_id: int, effect: str, amount: int) -> None:
        cur = self.db.execute(
            "INSERT INTO effects(run_id, order_id, effect, amount) VALUES(?,?,?,?)",
            (run_id, order_id, effect, amount),
        )
        if cur.lastrowid is not None:
            self.applied.append(cur.lastrowid)

    def undo_one(self, run_id: str, order_id: int, effect: str) -> int | None:
        """Mark the oldest live application of `effect` undone; its amount, or None.

        Undoing what was never applied leaves a tombstone: the forward request may still
        be on its way (its caller gave up waiting), and must then be refused.
        """
        row = self.db.execute(
            "SELECT id, amount FROM effects WHERE run_id=? AND order_id=? AND effect=? "
            "AND undone=0 ORDER BY id LIMIT 1",
            (run_id, order_id, effect),
        ).fetchone()
        if row is None:
            self.db.execute(
                "INSERT OR IGNORE INTO tombstones(run_id, order_id, effect) VALUES(?,?,?)",
                (run_id, order_id, effect),
            )
            return None
        self.db.execute("UPDATE effects SET undone=1 WHERE id=?", (row[0],))
        return int(row[1])


class Store:
    def __init__(self, path: Path, synchronous: str = "NORMAL") -> None:
        # NORMAL in WAL mode survives a process kill (the OS holds the WAL); FULL adds
        # an fsync per commit for power loss, which chaos experiments do not inject.
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.executescript(SCHEMA + fence.SCHEMA)

    def init_kv(self, values: dict[str, int]) -> None:
        """Set initial values once (first start of the deployment only)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for name, value in values.items():
                self.db.execute("INSERT OR IGNORE INTO kv(name, value) VALUES(?,?)", (name, value))

    def handle(self, key: str, body: dict[str, Any], handler: Handler,
               token: tuple[str, int] | None = None) -> Response:
        """Run `handler` at most once per key; replay the stored response otherwise.
        A stale fencing `token` is refused before either (services/fence.py)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            refused = fence.check(db, body, token) if token is not None else None
            if refused is not None:
                db.execute("COMMIT")  # the refusal count only
                return refused
            row = db.execute("SELECT status, body FROM requests WHERE key=?", (key,)).fetchone()
            if row is not None:
                stored: dict[str, Any] = orjson.loads(row[1])
                status = int(row[0])
                if status == 200 and self._undone(key):  # the answer is no longer true
                    status, stored = 409, {"result": "rejected", "reason": "cancelled"}
                db.execute("COMMIT")  # nothing changed but the fence, if any
                stored["replayed"] = True
                return status, stored
            tx = Tx(db)
            status, response = handler(tx, body)
            db.execute(
                "INSERT INTO requests(key, status, body) VALUES(?,?,?)",
                (key, status, orjson.dumps(response)),
            )
            db.executemany("INSERT OR IGNORE INTO applied_by(key, effect_id) VALUES(?,?)",
                           [(key, i) for i in tx.applied])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return status, response

    def _undone(self, key: str) -> bool:
        """Was the effect this key applied undone since? A replay must then answer
        `cancelled`, not `ok`: a consumer that reclaimed a saga a zombie already
        compensated must compensate too, not complete it (fencing, rule 12)."""
        return self.db.execute(
            "SELECT 1 FROM applied_by a JOIN effects e ON e.id = a.effect_id "
            "WHERE a.key=? AND e.undone=1", (key,)).fetchone() is not None

    def effects(self, run_id: str | None) -> dict[str, dict[str, list[int]]]:
        """Per effect: parallel arrays (order_id sorted, applied count)."""
        where, args = ("WHERE run_id=?", (run_id,)) if run_id is not None else ("", ())
        rows = self.db.execute(
            f"SELECT effect, order_id, COUNT(*) FROM effects {where} "
            "GROUP BY effect, order_id ORDER BY effect, order_id",
            args,
        ).fetchall()
        out: dict[str, dict[str, list[int]]] = {}
        for effect, order_id, count in rows:
            cols = out.setdefault(effect, {"order_id": [], "count": []})
            cols["order_id"].append(int(order_id))
            cols["count"].append(int(count))
        return out

    def kv(self) -> dict[str, int]:
        return {str(n): int(v) for n, v in self.db.execute("SELECT name, value FROM kv")}
