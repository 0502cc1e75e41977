"""The producer's broker link: where the broker is, and the idempotent XADD.

Why a resolver: the broker's address is asked for on every (re)connect, never kept, so a
Sentinel-discovered primary (targets/reference/sentinel.py) plugs in as another resolver
without touching the sender. Why one Lua script: the stream entry and the order's
dedup record are written together or not at all, so a resend after a crash or a lost
reply finds the order already there and adds nothing: one entry, one saga, per order.

Keys (`<stream>` = the stream setting): `<stream>:produced:<run_id>` hash order id ->
entry id (expires after 7 days, like the consumers' keys), `<stream>:producer-backlog`
hash producer slot -> records accepted but not yet acknowledged by the broker (the
observer's drain waits for zeros).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aredis
from redis.exceptions import RedisError

from targets.reference import recovery
from targets.reference.producer.wal import Record
from targets.reference.sentinel import MappedSentinel, SentinelSettings

KEEP_S = 7 * 24 * 3600
# a failed send, whatever the broker said: the batch stays queued and is sent again
SEND_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)



class NotReplicated(RedisError):
    """WAIT counted fewer replicas than asked for: the batch is not confirmed (resent)."""


# KEYS: stream, produced hash. ARGV: order id, run id, payload, accept time ns.
# Returns 1 when this call added the entry, 0 when the order was already in the stream.
PRODUCE = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local id = redis.call('XADD', KEYS[1], '*', 'order_id', ARGV[1], 'run_id', ARGV[2],
                      'payload', ARGV[3], 'ts', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
"""
# (The bug `no-replay` keeps this dedup: only its resending is missing.)

Resolver = Callable[[], Awaitable[tuple[str, int]]]


def static(host: str, port: int) -> Resolver:
    """A fixed address (a proxy, or the broker itself)."""

    async def resolve() -> tuple[str, int]:
        return host, port

    return resolve


def sentinel(settings: SentinelSettings) -> Resolver:
    """The current primary as Sentinel names it, mapped to this producer's proxy for it
    (sentinel.py); asked again on every reconnect, so a failover is followed."""
    manager = MappedSentinel(settings)

    async def resolve() -> tuple[str, int]:
        return await manager.discover_master(settings.master)

    return resolve


@dataclass(frozen=True)
class Keys:
    stream: str = "orders"

    def produced(self, run_id: str) -> str:
        return f"{self.stream}:produced:{run_id}"

    @property
    def backlog(self) -> str:
        return f"{self.stream}:producer-backlog"

    @property
    def producers(self) -> str:
        return f"{self.stream}:producers"


class BrokerLink:
    """A redis client made from the resolver's answer; dropped and made again after a
    failure, so the next attempt asks the resolver where the broker is now."""

    def __init__(self, resolve: Resolver, keys: Keys, timeout_s: float = 2.0,
                 wait_replicas: int = 0, wait_timeout_ms: int = 500) -> None:
        self.resolve = resolve
        self.keys = keys
        self.timeout_s = timeout_s
        self.wait_replicas = wait_replicas  # > 0: a batch counts once WAIT says they have it
        self.wait_timeout_ms = wait_timeout_ms
        self._client: aredis.Redis | None = None
        self._script: Any = None

    async def client(self) -> aredis.Redis:
        if self._client is None:
            host, port = await self.resolve()
            self._client = recovery.client(host, port, self.timeout_s, max_connections=8)
            self._script = self._client.register_script(PRODUCE)
        return self._client

    async def reset(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def produce(self, batch: list[Record], slot: int, backlog: int) -> list[int]:
        """XADD every record not yet in the stream (one round trip); per record 1 = added,
        0 = already there. Also stores this producer's backlog for the drain. With
        `wait_replicas`, `WAIT` follows on the same connection: it waits for the primary's
        replication offset as of this connection's last command, so (replication being in
        order) for the batch, also the entries an earlier attempt added; short of it ->
        NotReplicated. Until WAIT confirms, the stored backlog still counts the batch (the
        drain must not stop while the batch may yet vanish in a failover)."""
        client = await self.client()
        pipe = client.pipeline(transaction=False)
        for r in batch:
            await self._script(keys=[self.keys.stream, self.keys.produced(r.run_id)],
                               args=[r.order_id, r.run_id, r.payload, r.t_ns, KEEP_S],
                               client=pipe)
        if not self.wait_replicas:
            pipe.hset(self.keys.backlog, str(slot), backlog)
            return [int(x) for x in (await pipe.execute())[:len(batch)]]
        pipe.hset(self.keys.backlog, str(slot), backlog + len(batch))
        pipe.execute_command("WAIT", self.wait_replicas, self.wait_timeout_ms)
        replies = await pipe.execute()
        if int(replies[-1]) < self.wait_replicas:
            raise NotReplicated(f"WAIT {self.wait_replicas} {self.wait_timeout_ms}: "
                                f"{replies[-1]} replica(s) confirmed")
        await client.hset(self.keys.backlog, str(slot), backlog)  # confirmed: not counted
        return [int(x) for x in replies[:len(batch)]]

    async def set_backlog(self, slot: int, backlog: int) -> None:
        client = await self.client()
        await client.hset(self.keys.backlog, str(slot), backlog)

    async def close(self) -> None:
        await self.reset()
