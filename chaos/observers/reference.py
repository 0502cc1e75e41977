"""Observer of the reference pipeline: reads its final state into observations.json v1.

Sources (names in docs/reference-pipeline.md): the orders stream (what was enqueued and
each order's value), the consumers' outcome hash (terminal outcome, time, deliveries),
the pending list (deliveries of unfinished entries), the dead-letter stream, and each
service's admin endpoint (effects *applied* per order, plus totals). Columnar output so
100k orders take about a second.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import orjson
import redis
from redis.exceptions import RedisError

from chaos.checks.model import OUTCOMES
from chaos.formats.observations import write_observations
from chaos.observers.consumer_counts import consumer_counts
from chaos.observers.handlers import fencing, handled_by
from chaos.observers.producer_counts import backlog_drained, producer_counts
from chaos.observers.sentinel_view import SentinelView

if TYPE_CHECKING:
    from chaos.platforms.base import Platform

SAGA = (("inventory.reserve", "inventory.release"), ("payment.charge", "payment.refund"),
        ("points.award", "points.revoke"))
SERVICES = ("inventory", "payment", "points")
CHUNK = 10_000


class ObserverError(Exception):
    """The final state could not be read (one line, for the run's reason)."""


def _address(value: Any, what: str) -> tuple[str, int]:
    host, _, port = str(value or "").rpartition(":")
    if not host or not port.isdigit():
        raise ObserverError(f"observer setting {what} must be host:port, not {value!r}")
    return host, int(port)


def _url(value: Any, what: str) -> str:
    text = str(value or "")
    if not text:
        raise ObserverError(f"observer setting {what} is missing")
    return (text if text.startswith(("http://", "https://")) else f"http://{text}").rstrip("/")


def _order_columns(payload: str) -> tuple[int, int, int]:
    """(value, qty, points) of a payload; zeros for poison."""
    try:
        p = orjson.loads(payload)
        amount, qty = p["amount"], p["qty"]
        if isinstance(amount, int) and isinstance(qty, int) and not isinstance(amount, bool):
            return amount, qty, amount // 100
    except (orjson.JSONDecodeError, KeyError, TypeError):
        pass
    return 0, 0, 0


def run_scoped(now: dict[str, int], base: dict[str, int] | None) -> dict[str, int]:
    """This run's share of the totals: counters minus their value at up(); the stock this
    run started with becomes `initial_stock`, so stock + reserved = initial_stock still
    holds exactly when the run conserved stock."""
    if base is None:
        return now
    out = {k: v - base.get(k, 0) for k, v in now.items()}
    if "stock" in now:
        out["stock"] = now["stock"]
        out["initial_stock"] = base.get("stock", now.get("initial_stock", 0))
    return out


class ReferenceObserver:
    description = (
        "the reference pipeline's final state: outcomes, deliveries, dead letters and "
        "the effects each service applied"
    )

    def __init__(self, settings: dict[str, Any], platform: Platform | None = None) -> None:
        host, port = _address(settings.get("redis"), "redis")
        self.stream = str(settings.get("stream", "orders"))
        self.group = str(settings.get("group", "workers"))
        self.dlq = str(settings.get("dlq", "orders:dlq"))
        self.max_attempts = int(settings.get("max_attempts", 5))
        self.bug = settings.get("bug")
        self.admin = {s: _url(settings.get(s), s) for s in SERVICES}
        self.r = self._client(host, port)
        self.at = self.initial = (host, port)
        try:  # an HA broker: read from the primary Sentinel names, describe the failover
            self.sentinel = SentinelView(settings["sentinel"]) if settings.get("sentinel") else None
        except ValueError as exc:
            raise ObserverError(str(exc)) from None
        self.platform = platform
        self.base: dict[str, int] | None = None  # service totals when the run started

    def snapshot(self) -> None:
        """Remember the services' totals now (at up()): a long-lived deployment (Kubernetes)
        keeps its counters across runs, and checks must see only this run's changes."""
        totals: dict[str, int] = {}
        with httpx.Client(timeout=30.0) as client:
            for service in SERVICES:
                resp = client.get(f"{self.admin[service]}/totals")
                resp.raise_for_status()
                totals.update({k: int(v) for k, v in resp.json().items()})
        self.base = totals

    @staticmethod
    def _client(host: str, port: int) -> redis.Redis:
        return redis.Redis(host=host, port=port, decode_responses=True,
                           socket_timeout=30, socket_connect_timeout=5)

    def _follow(self) -> None:
        """Point the client at the primary Sentinel names now (HA brokers only)."""
        if self.sentinel is None:
            return
        now = self.sentinel.primary()
        if now != self.at:
            self.r.close()
            self.r, self.at = self._client(*now), now

    # ------------------------------------------------------------ drain

    def drained(self) -> bool:
        try:
            self._follow()
            groups: Any = self.r.xinfo_groups(self.stream)
        except RedisError:
            return False
        group = next((g for g in groups if g["name"] == self.group), None)
        if group is None:
            return False
        if int(group["pending"]) or self._lag(group):
            return False
        # a producer in the path (reference-local-producer) may still hold accepted orders
        try:
            backlog: Any = self.r.hgetall(f"{self.stream}:producer-backlog")
        except RedisError:
            return False
        if not backlog_drained(backlog):
            return False
        try:  # HA: also the broker back at full strength, so the run data shows it
            return self.sentinel is None or self.sentinel.settled()
        except RedisError:
            return False

    def _lag(self, group: dict[str, Any]) -> int:
        if group.get("lag") is not None:  # redis >= 7
            return int(group["lag"])
        last, lag = str(group["last-delivered-id"]), 0
        while True:  # redis 6.2: count entries after the group's last delivered id
            rows: Any = self.r.xrange(self.stream, min=f"({last}", max="+", count=CHUNK)
            lag += len(rows)
            if len(rows) < CHUNK:
                return lag
            last = rows[-1][0]

    # ------------------------------------------------------------ observe

    def observe(self, run_id: str, path: Path) -> None:
        try:
            doc = self.collect(run_id)
        except RedisError as exc:
            raise ObserverError(f"cannot read redis: {type(exc).__name__}: {exc}") from None
        except httpx.HTTPError as exc:
            raise ObserverError(f"cannot read a service admin endpoint: {exc}") from None
        write_observations(path, doc)

    def _entries(self, run_id: str) -> tuple[dict[int, tuple[int, int, int]], dict[str, int]]:
        """Per order (value, qty, points) from its first entry; entry id -> order id."""
        orders: dict[int, tuple[int, int, int]] = {}
        entry_order: dict[str, int] = {}
        start = "-"
        while True:
            rows: Any = self.r.xrange(self.stream, min=start, max="+", count=CHUNK)
            for entry_id, fields in rows:
                if fields.get("run_id") != run_id:
                    continue
                try:
                    oid = int(fields.get("order_id", ""))
                except ValueError:
                    continue
                entry_order[entry_id] = oid
                if oid not in orders:
                    orders[oid] = _order_columns(fields.get("payload", ""))
            if len(rows) < CHUNK:
                return orders, entry_order
            start = f"({rows[-1][0]}"

    def _pending(self, entry_order: dict[str, int]) -> dict[int, int]:
        """Order id -> most deliveries of any of its still-pending entries."""
        out: dict[int, int] = {}
        start = "-"
        while True:
            rows: Any = self.r.xpending_range(self.stream, self.group, min=start, max="+",
                                              count=CHUNK)
            for row in rows:
                oid = entry_order.get(row["message_id"])
                if oid is not None:
                    out[oid] = max(out.get(oid, 0), int(row["times_delivered"]))
            if len(rows) < CHUNK:
                return out
            start = f"({rows[-1]['message_id']}"

    def _dead_letters(self, run_id: str) -> dict[str, list[Any]]:
        ids: list[int] = []
        attempts: list[int] = []
        reasons: list[str] = []
        start = "-"
        while True:
            rows: Any = self.r.xrange(self.dlq, min=start, max="+", count=CHUNK)
            for _, f in rows:
                if f.get("run_id") != run_id:
                    continue
                try:
                    ids.append(int(f.get("order_id", "")))
                except ValueError:
                    ids.append(-1)
                attempts.append(int(f.get("attempts", 0) or 0))
                reasons.append(str(f.get("reason", "")))
            if len(rows) < CHUNK:
                return {"order_id": ids, "attempts": attempts, "reason": reasons}
            start = f"({rows[-1][0]}"

    def _services(self, run_id: str) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
        effects: dict[str, Any] = {name: {"order_id": [], "count": []}
                                   for pair in SAGA for name in pair}
        totals: dict[str, int] = {}
        refused: dict[str, int] = {}
        with httpx.Client(timeout=60.0) as client:
            for service in SERVICES:
                resp = client.get(f"{self.admin[service]}/effects", params={"run_id": run_id})
                resp.raise_for_status()
                body = resp.json()
                effects.update(body["effects"])
                totals.update({k: int(v) for k, v in body["totals"].items()})
                refused[service] = int(body.get("fenced", 0))
        return effects, totals, refused

    def _consumers(self) -> dict[str, Any]:
        """The consumers' own counts (recoveries per error path, shutdowns), per pod and
        summed: each pod writes them to `<stream>:consumers`, so a pod that a rolling
        restart ended still counts."""
        raw: Any = self.r.hgetall(f"{self.stream}:consumers")
        return consumer_counts(raw)

    def _producers(self) -> dict[str, Any]:
        """The reference producers' own counts (replayed, resent, ...), when one is in the
        path: each incarnation writes them to `<stream>:producers`."""
        raw: Any = self.r.hgetall(f"{self.stream}:producers")
        return producer_counts(raw)

    def collect(self, run_id: str) -> dict[str, Any]:
        """The observations.json document for `run_id` (docs/observations.md)."""
        self._follow()
        orders, entry_order = self._entries(run_id)
        outcomes: Any = self.r.hgetall(f"{self.stream}:outcome:{run_id}")
        dups: Any = self.r.hgetall(f"{self.stream}:dups:{run_id}")
        pending = self._pending(entry_order)
        index = {name: i for i, name in enumerate(OUTCOMES)}
        recorded: dict[int, tuple[int, int, int]] = {}
        for key, value in outcomes.items():
            try:
                name, t_ns, deliveries = value.split("|")[:3]  # then the pod, if given
                recorded[int(key)] = (index.get(name, 0), int(t_ns), int(deliveries))
            except ValueError:
                continue
        ids = sorted(set(orders) | set(recorded))
        zero, none = (0, 0, 0), (0, -1, 0)
        cols = [orders.get(oid, zero) for oid in ids]
        done = [recorded.get(oid, none) for oid in ids]
        redeliveries = [
            max((d[2] if d[1] >= 0 else pending.get(oid, 1)) - 1, 0) + int(dups.get(str(oid), 0))
            for oid, d in zip(ids, done, strict=True)
        ]

        def col(rows: list[tuple[int, int, int]], k: int) -> np.ndarray[Any, Any]:
            return np.fromiter((r[k] for r in rows), dtype=np.int64, count=len(rows))

        effects, totals, refused = self._services(run_id)
        broker = {} if self.sentinel is None else {"broker": self.sentinel.describe(self.initial)}
        return {
            **broker,
            "format": "pipechaos.observations", "version": 1, "run_id": run_id,
            "observer": "reference", "t_observed": time.time_ns(), "outcomes": list(OUTCOMES),
            "orders": {"order_id": np.array(ids, dtype=np.int64), "outcome": col(done, 0),
                       "t_terminal": col(done, 1),
                       "redeliveries": np.array(redeliveries, dtype=np.int64),
                       "value": col(cols, 0), "qty": col(cols, 1), "points": col(cols, 2)},
            "effects": effects,
            "saga": [list(pair) for pair in SAGA],
            "dead_letters": self._dead_letters(run_id),
            "consumers": self._consumers(),
            "producers": self._producers(),
            "totals": run_scoped(totals, self.base),
            "settings": {"max_attempts": self.max_attempts, "dlq_attempts": self.max_attempts,
                         "totals_scope": "deployment" if self.base is None else "run",
                         "bug": self.bug},
            "handled_by": handled_by(self.r, self.stream, run_id),
            "fencing": fencing(self.r, self.stream, run_id, refused),
        }
