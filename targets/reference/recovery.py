"""How the consumer survives a broker that is away: an explicit redis-py retry budget, and
its own error paths (counted in counters.py) for everything longer than that budget.

Why explicit: redis-py's defaults differ by version (5.x: no retries, later ones retry;
8.x: 10 retries with exponential backoff up to 1 s, which alone absorbs a broker restart
and a 6 s partition). Left to the library, the consumer's own read, reconnect, reclaim
and heartbeat paths would only run on some versions. Why none: the consumer retries every
redis call itself (with backoff, counted); a second retry layer below it only multiplies
the wait (redis-py retries the reconnect inside each retried command: (n + 1)^2 socket
timeouts of silence). So a failure reaches the consumer at once when connections are
refused, after one socket timeout when the broker does not answer (docs/reference-pipeline.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aredis
from redis.asyncio.retry import Retry
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from targets.reference.counters import Counters
from targets.reference.retry import Backoff
from targets.reference.streams import TRANSIENT_REDIS, Streams

T = TypeVar("T")

RETRIES = 0  # the consumer's own code owns every failure
RETRY_BACKOFF_S = 0.1  # between the library's attempts, if RETRIES is ever raised


def client(host: str, port: int, socket_timeout_s: float, max_connections: int) -> aredis.Redis:
    """The consumer's redis client with the same retry budget on every redis-py >= 5."""
    return aredis.Redis(
        host=host, port=port, decode_responses=True,
        socket_timeout=socket_timeout_s, socket_connect_timeout=2.0,
        max_connections=max_connections,
        # redis-py 5 ignores `retry` unless retry_on_error is given too
        retry=Retry(ConstantBackoff(RETRY_BACKOFF_S), RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )


def budget_s(socket_timeout_s: float) -> float:
    """The longest a silent broker holds a call before it fails into the consumer's code:
    each command attempt may reconnect, and redis-py retries each reconnect too."""
    attempts = (RETRIES + 1) ** 2
    return attempts * socket_timeout_s + (attempts - 1) * RETRY_BACKOFF_S


def read_failure(exc: BaseException) -> bool:
    """A failed XREADGROUP the consumer recovers from by reconnecting: the broker away, or
    back without the group (a broker that lost its data)."""
    return isinstance(exc, TRANSIENT_REDIS) or (
        isinstance(exc, ResponseError) and "NOGROUP" in str(exc))


async def tracked(counters: Counters, path: str, fn: Callable[[], Awaitable[T]]) -> T:
    """Call `fn`, counting a redis failure on `path` and the success that ends a run of them."""
    try:
        result = await fn()
    except TRANSIENT_REDIS as exc:
        counters.failed(path, exc)
        raise
    counters.ok(path)
    return result


async def reconnect(streams: Streams, backoff: Backoff, counters: Counters,
                    stopping: asyncio.Event) -> None:
    """After a failed read: wait, with backoff, until the broker answers, then make sure the
    group exists again before reading; returns early when the consumer is stopping."""
    attempt = 0
    while not stopping.is_set():
        attempt += 1
        await asyncio.sleep(backoff.delay(min(attempt, 8)))
        try:
            await streams.r.ping()
            await streams.ensure_group()
        except (*TRANSIENT_REDIS, ResponseError) as exc:
            counters.failed("reconnect", exc)
            continue
        counters.recovered("reconnect")
        return
