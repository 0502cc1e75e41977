"""Redis Streams operations of the consumer: group, read, reclaim, heartbeat, finish.

Key layout (the observer and probes read the same names; see docs/reference-pipeline.md):
  <stream>                      the orders stream, group <group>
  <stream>:outcome:<run_id>     hash order_id -> "<outcome>|<t_ns>|<deliveries>"
  <stream>:dups:<run_id>        hash order_id -> duplicate deliveries of a finished order
  <stream>:completions          counter of terminal outcomes (completion_rate probe)
  <dlq>                         dead letters: order_id, run_id, reason, attempts, entry
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

TRANSIENT_REDIS: tuple[type[BaseException], ...] = (
    RedisConnectionError, RedisTimeoutError, OSError,
)

# Record the terminal outcome, dead-letter if asked, ACK: one atomic step, and idempotent
# (a retry after a lost reply neither duplicates the dead letter nor the count).
FINISH = """
local new = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if new == 1 and ARGV[4] == 'dlq' then
  redis.call('XADD', KEYS[4], '*', 'order_id', ARGV[1], 'run_id', ARGV[5],
             'reason', ARGV[6], 'attempts', ARGV[7], 'entry', ARGV[3])
end
redis.call('XACK', KEYS[2], ARGV[8], ARGV[3])
if new == 1 then redis.call('INCR', KEYS[3]) end
return new
"""


@dataclass(frozen=True)
class StreamNames:
    stream: str = "orders"
    group: str = "workers"
    dlq: str = "orders:dlq"

    def outcome(self, run_id: str) -> str:
        return f"{self.stream}:outcome:{run_id}"

    def dups(self, run_id: str) -> str:
        return f"{self.stream}:dups:{run_id}"

    @property
    def completions(self) -> str:
        return f"{self.stream}:completions"


Entry = tuple[str, dict[str, str]]


class Streams:
    def __init__(self, client: aredis.Redis, names: StreamNames, consumer: str) -> None:
        self.r = client
        self.n = names
        self.me = consumer
        self._finish = client.register_script(FINISH)

    async def ensure_group(self) -> None:
        try:
            await self.r.xgroup_create(self.n.stream, self.n.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, count: int, block_ms: int) -> list[Entry]:
        reply: Any = await self.r.xreadgroup(
            self.n.group, self.me, {self.n.stream: ">"}, count=count, block=block_ms)
        return [(eid, fields) for _, entries in reply or [] for eid, fields in entries]

    async def autoclaim(self, min_idle_ms: int, count: int, cursor: str) -> tuple[str, list[Entry]]:
        reply: Any = await self.r.xautoclaim(
            self.n.stream, self.n.group, self.me, min_idle_ms, start_id=cursor, count=count)
        next_cursor, entries = reply[0], reply[1]
        return next_cursor, [(eid, f) for eid, f in entries if f is not None]

    async def deliveries(self, entry_id: str) -> int:
        """The broker's delivery counter of one pending entry (0 if no longer pending)."""
        rows: Any = await self.r.xpending_range(
            self.n.stream, self.n.group, min=entry_id, max=entry_id, count=1)
        return int(rows[0]["times_delivered"]) if rows else 0

    async def redeliver(self, entry_id: str) -> int:
        """Take the entry again (counts as a delivery); its new delivery count, 0 if gone."""
        await self.r.xclaim(self.n.stream, self.n.group, self.me, 0, [entry_id])
        return await self.deliveries(entry_id)

    async def heartbeat(self, in_flight: set[str]) -> None:
        """Reset the idle time of our own in-flight entries so nobody reclaims live work."""
        if not in_flight:
            return
        rows: Any = await self.r.xpending_range(
            self.n.stream, self.n.group, min="-", max="+", count=10000, consumername=self.me)
        mine = [row["message_id"] for row in rows if row["message_id"] in in_flight]
        if mine:
            await self.r.xclaim(self.n.stream, self.n.group, self.me, 0, mine, justid=True)

    async def outcome_of(self, run_id: str, order_id: str) -> str | None:
        value: Any = await self.r.hget(self.n.outcome(run_id), order_id)
        return str(value) if value is not None else None

    async def processed(self, entries: list[Entry]) -> list[bool]:
        """For a batch just read: which orders already have an outcome (one round trip)."""
        pipe = self.r.pipeline(transaction=False)
        for _, fields in entries:
            pipe.hexists(self.n.outcome(fields.get("run_id", "")), fields.get("order_id", ""))
        return [bool(x) for x in await pipe.execute()]

    async def count_dup(self, run_id: str, order_id: str, entry_id: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hincrby(self.n.dups(run_id), order_id, 1)
        pipe.xack(self.n.stream, self.n.group, entry_id)
        await pipe.execute()

    async def ack(self, entry_id: str) -> None:
        await self.r.xack(self.n.stream, self.n.group, entry_id)

    async def finish(self, run_id: str, order_id: str, entry_id: str, outcome: str,
                     deliveries: int, dlq_reason: str | None = None) -> bool:
        """Record the outcome and ACK atomically; True if this call recorded it."""
        record = f"{outcome}|{time.time_ns()}|{deliveries}"
        new: Any = await self._finish(
            keys=[self.n.outcome(run_id), self.n.stream, self.n.completions, self.n.dlq],
            args=[order_id, record, entry_id, "dlq" if dlq_reason is not None else "",
                  run_id, dlq_reason or "", deliveries, self.n.group],
        )
        return bool(new)
