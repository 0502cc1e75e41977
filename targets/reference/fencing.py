"""Fencing: a consumer that lost an entry to a reclaim must leave that saga alone.

Why: a consumer paused (GC, SIGSTOP, a slow VM) or cut off from redis past
`reclaim_idle` is a zombie: another consumer reclaims its entries and finishes them, and
when the zombie wakes, its step deadlines have passed, so it would compensate sagas that
are already complete. Idempotency keys cannot stop that: the compensation has its own key.

The token is the entry's delivery counter, which the broker increments on every claim
(XREADGROUP: 1, each XAUTOCLAIM/XCLAIM: +1; the heartbeat's `XCLAIM JUSTID` does not
count). Together with the owner's name it is checked:
  - in redis, atomically with the outcome and the XACK (FINISH below): a stale owner
    records nothing and ACKs nothing;
  - in redis, before compensating (`Fence.held`), so a zombie does not start undoing;
  - at every service (`Fencing-Token: <entry id>:<deliveries>` header), which refuses a
    token lower than the highest it has seen for that entry (409 `fenced`), closing the
    race between the check and the call.
A fenced saga stops where it is: no more calls, no outcome, no ACK; the new owner's
saga, with the same idempotency keys, carries on. docs/reference-pipeline.md, rule 12.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aredis

from targets.reference.retry import Backoff, retry_forever
from targets.reference.streams import FINISH as PLAIN_FINISH
from targets.reference.streams import TRANSIENT_REDIS, StreamNames

HEADER = "Fencing-Token"


class Fenced(Exception):
    """This consumer no longer owns the entry: stop, record nothing, ACK nothing."""

    def __init__(self, message: str, stage: str = "step") -> None:
        super().__init__(message)
        self.stage = stage  # step | compensation | outcome: where the saga was stopped


# Record the terminal outcome (with the pod that recorded it), dead-letter if asked,
# ACK: one atomic step. With fencing (ARGV[11] == '1') only while this consumer still
# owns the entry with the delivery count it took it with; a retry after a lost reply
# finds its own record and succeeds again. Every pod that ran the saga to its end is
# appended to the handlers hash (fenced or not), so the checks can blame the fault that
# touched it. Returns 1 recorded, 0 already recorded, -1 fenced.
FINISH = """
local function add_handler()
  local pods = redis.call('HGET', KEYS[5], ARGV[1])
  if not pods then
    redis.call('HSET', KEYS[5], ARGV[1], ARGV[9])
  elseif not string.find(',' .. pods .. ',', ',' .. ARGV[9] .. ',', 1, true) then
    redis.call('HSET', KEYS[5], ARGV[1], pods .. ',' .. ARGV[9])
  end
end
add_handler()
if ARGV[11] == '1' then
  local p = redis.call('XPENDING', KEYS[2], ARGV[8], ARGV[3], ARGV[3], 1)
  local owned = #p == 1 and p[1][2] == ARGV[9] and tonumber(p[1][4]) == tonumber(ARGV[10])
  if not owned then
    local mine = '|' .. ARGV[10] .. '|' .. ARGV[9]
    local rec = redis.call('HGET', KEYS[1], ARGV[1])
    if rec and #p == 0 and string.sub(rec, -#mine) == mine then return 0 end
    redis.call('HSET', KEYS[6], ARGV[1], ARGV[9] .. '|outcome')
    return -1
  end
end
""" + PLAIN_FINISH  # then exactly the unfenced finish


def handlers_key(names: StreamNames, run_id: str) -> str:
    return f"{names.stream}:handlers:{run_id}"


def fenced_key(names: StreamNames, run_id: str) -> str:
    return f"{names.stream}:fenced:{run_id}"


def token(entry_id: str, deliveries: int) -> str:
    """The header value: the entry (the fence's scope) and its delivery count (epoch)."""
    return f"{entry_id}:{deliveries}"


@dataclass
class Fence:
    """One consumer's claim on one entry, as the saga carries it."""

    token: str
    held: Callable[[], Awaitable[bool]]  # does this consumer still own the entry?


class Fencing:
    """The consumer's side: finish under the fence, check ownership, count what it fenced."""

    def __init__(self, client: aredis.Redis, names: StreamNames, me: str, enabled: bool,
                 backoff: Backoff) -> None:
        self.r = client
        self.backoff = backoff
        self.n = names
        self.me = me
        self.enabled = enabled
        self.fenced = 0  # sagas this consumer abandoned because it lost the entry
        self.by_stage: dict[str, int] = {}
        self._finish = client.register_script(FINISH)

    def fence(self, entry_id: str, deliveries: int) -> Fence | None:
        if not self.enabled:
            return None

        async def held() -> bool:
            return await retry_forever(lambda: self.owns(entry_id, deliveries),
                                       TRANSIENT_REDIS, self.backoff, "ownership check")

        return Fence(token(entry_id, deliveries), held)

    async def owns(self, entry_id: str, deliveries: int) -> bool:
        rows: Any = await self.r.xpending_range(
            self.n.stream, self.n.group, min=entry_id, max=entry_id, count=1)
        return bool(rows) and rows[0]["consumer"] == self.me and \
            int(rows[0]["times_delivered"]) == deliveries

    def record(self, outcome: str, deliveries: int) -> str:
        """The outcome hash value: `outcome|t_ns|deliveries|pod`."""
        return f"{outcome}|{time.time_ns()}|{deliveries}|{self.me}"

    async def finish(self, run_id: str, order_id: str, entry_id: str, record: str,
                     deliveries: int, dlq_reason: str | None = None) -> int:
        """1 recorded, 0 already recorded (by anyone), -1 fenced (nothing done)."""
        n = self.n
        done: Any = await self._finish(
            keys=[n.outcome(run_id), n.stream, n.completions, n.dlq,
                  handlers_key(n, run_id), fenced_key(n, run_id)],
            args=[order_id, record, entry_id, "dlq" if dlq_reason is not None else "",
                  run_id, dlq_reason or "", deliveries, n.group, self.me, deliveries,
                  "1" if self.enabled else ""],
        )
        if int(done) < 0:
            self.count("outcome")
        return int(done)

    def count(self, stage: str) -> None:
        self.fenced += 1
        self.by_stage[stage] = self.by_stage.get(stage, 0) + 1

    async def abandoned(self, run_id: str, order_id: str, stage: str) -> None:
        """A saga stopped by a fence before its finish: count it, and note it in redis."""
        self.count(stage)
        await self.r.hset(fenced_key(self.n, run_id), order_id, f"{self.me}|{stage}")
