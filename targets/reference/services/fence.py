"""The service side of fencing: refuse a request carrying a stale fencing token.

Why: a consumer that lost its entry to a reclaim (paused, cut off) may still send calls,
compensations above all, after the new owner has started. Its token (`Fencing-Token:
<entry id>:<deliveries>`, see targets/reference/fencing.py) is then lower than the new
owner's, and the service, which remembers the highest token it has seen per order and
entry, refuses it (409 `fenced`) without applying anything, in the same transaction as
the effect. Requests without the header are not fenced (older clients, bug `no-fencing`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS fences (
  run_id TEXT, order_id INTEGER, scope TEXT, epoch INTEGER,
  PRIMARY KEY (run_id, order_id, scope));
"""
REFUSED = "fenced_refused"  # kv counter of refused requests (admin /effects `fenced`)


def parse(value: str | None) -> tuple[str, int] | None:
    """(scope, epoch) of a Fencing-Token header; None when absent or malformed."""
    if not value:
        return None
    scope, _, epoch = value.rpartition(":")
    return (scope, int(epoch)) if scope and epoch.isdigit() else None


def check(db: sqlite3.Connection, body: dict[str, Any],
          token: tuple[str, int]) -> tuple[int, dict[str, Any]] | None:
    """Inside the request's transaction: a refusal for a stale token, else None after
    raising the order's fence to this token."""
    scope, epoch = token
    key = (body["run_id"], body["order_id"], scope)
    row = db.execute("SELECT epoch FROM fences WHERE run_id=? AND order_id=? AND scope=?",
                     key).fetchone()
    if row is not None and int(row[0]) > epoch:
        db.execute("INSERT INTO kv(name, value) VALUES(?, 1) "
                   "ON CONFLICT(name) DO UPDATE SET value = value + 1", (REFUSED,))
        return 409, {"result": "fenced",
                     "reason": f"stale fencing token {epoch} < {int(row[0])}"}
    if row is None or int(row[0]) < epoch:
        db.execute("INSERT OR REPLACE INTO fences(run_id, order_id, scope, epoch) "
                   "VALUES(?,?,?,?)", (*key, epoch))
    return None
