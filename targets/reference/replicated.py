"""The consumer's rule for a replicated broker: no side effect for an entry that a
failover may still take back.

With asynchronous replication the primary hands out entries the replica does not have
yet. If the primary dies then, the promoted replica never had the entry: a saga started
for it would leave charges nobody completes or refunds (the producer's publish of it
ended `info` at best). So every batch the consumer takes (XREADGROUP, XAUTOCLAIM) is sent
in one pipeline with `WAIT <replicas> <timeout>` on the same connection: WAIT returns once
the replicas have everything this connection wrote, and the read itself is a write (it
moves the group's cursor, the pending list), so the entries it returned are replicated
too. A batch WAIT did not confirm is not processed now: it stays pending on this consumer
and reclaim (with its own WAIT) takes it once replication is back; if a failover took it
back, nothing was done for it.

What the consumer writes afterwards (outcome, ACK, duplicates) is not waited for: lost
in a failover, the entry is delivered again and idempotency (the processed check, the
per-step keys at the services) makes the second run apply nothing twice.
docs/reference-pipeline.md, "Broker with a replica and Sentinel".
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aredis

from targets.reference.streams import Entry, StreamNames, Streams


class ReplicatedStreams(Streams):
    """Streams whose reads return only entries the replicas acknowledged (WAIT)."""

    def __init__(self, client: aredis.Redis, names: StreamNames, consumer: str,
                 replicas: int, timeout_ms: int) -> None:
        super().__init__(client, names, consumer)
        self.replicas = replicas
        self.timeout_ms = timeout_ms
        self.unconfirmed = 0  # batches held back because WAIT did not confirm them

    async def _confirmed(self, pipe: Any) -> Any:
        pipe.execute_command("WAIT", self.replicas, self.timeout_ms)
        reply, acked = await pipe.execute()
        if int(acked) >= self.replicas:
            return reply
        self.unconfirmed += 1
        return None

    async def read(self, count: int, block_ms: int) -> list[Entry]:
        pipe = self.r.pipeline(transaction=False)
        pipe.xreadgroup(self.n.group, self.me, {self.n.stream: ">"}, count=count,
                        block=block_ms)
        reply = await self._confirmed(pipe)
        return [(eid, fields) for _, entries in reply or [] for eid, fields in entries]

    async def autoclaim(self, min_idle_ms: int, count: int, cursor: str) -> tuple[str, list[Entry]]:
        pipe = self.r.pipeline(transaction=False)
        pipe.xautoclaim(self.n.stream, self.n.group, self.me, min_idle_ms, start_id=cursor,
                        count=count)
        reply = await self._confirmed(pipe)
        if reply is None:
            return "0-0", []  # start over on the next round
        return reply[0], [(eid, f) for eid, f in reply[1] if f is not None]
