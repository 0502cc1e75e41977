"""The consumer's counts of the paths a normal run never takes: recoveries per redis error
path, what a graceful stop did with the work in flight, TLS failures towards the services
by kind, and compensation calls (undo steps) per service with those that failed.

Why kept outside the pod: a rolling restart ends every consumer, so counts that lived only
in a process would die with it. Each consumer serves them on its admin endpoint
(`/status` -> `paths`, `shutdown`, `tls`, `compensation`) and writes them to the broker,
hash `<stream>:consumers` (field = pod name, value = JSON), every half second when they
changed and once more at shutdown. The observer reads that hash into observations.json
(`consumers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
import redis.asyncio as aredis

from targets.reference.streams import TRANSIENT_REDIS

# read: XREADGROUP; reconnect: PING + group check after a failed read; reclaim: XAUTOCLAIM;
# heartbeat: XPENDING + XCLAIM of own entries; ops: the single operations a saga retries
# (processed check, outcome + ACK, dead letter).
PATHS = ("read", "reconnect", "reclaim", "heartbeat", "ops")
PUBLISH_EVERY_S = 0.5
KEEP_S = 7 * 24 * 3600  # the hash outlives a run, not a deployment's lifetime


def key(stream: str) -> str:
    return f"{stream}:consumers"


@dataclass
class PathCount:
    errors: int = 0  # failed calls that reached the consumer's own code
    recoveries: int = 0  # successes after a run of failures (reconnect: each reconnect)
    failing: bool = field(default=False, repr=False)


@dataclass
class ShutdownCount:
    in_flight: int = 0  # messages being processed when SIGTERM landed
    finished: int = 0  # of those, done within shutdown_grace
    released: int = 0  # of those, cancelled and left pending for another consumer to reclaim


class Counters:
    def __init__(self) -> None:
        self.paths = {name: PathCount() for name in PATHS}
        self.shutdown = ShutdownCount()
        self.tls: dict[str, int] = {}  # kind (targets/reference/tls_errors.py) -> failed calls
        # service -> {"calls": undo calls made, "failures": of those, not answered 200}
        self.compensation: dict[str, dict[str, int]] = {}
        self.changes = 0  # bumped on every change: publish only what is new

    def failed(self, path: str, exc: BaseException) -> None:
        count = self.paths[path]
        count.errors += 1
        self.changes += 1
        if not count.failing:
            count.failing = True
            print(f"{path} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    def ok(self, path: str) -> None:
        """A success on `path`: a recovery if it was failing (cheap otherwise)."""
        count = self.paths[path]
        if count.failing:
            count.failing = False
            count.recoveries += 1
            self.changes += 1
            print(f"{path} recovered", file=sys.stderr, flush=True)

    def recovered(self, path: str) -> None:
        """A recovery that needs no preceding failure on the same path (a reconnect)."""
        self.paths[path].recoveries += 1
        self.paths[path].failing = False
        self.changes += 1

    def stopped(self, in_flight: int, finished: int, released: int) -> None:
        self.shutdown.in_flight += in_flight
        self.shutdown.finished += finished
        self.shutdown.released += released
        self.changes += 1

    def tls_failed(self, kind: str) -> None:
        self.tls[kind] = self.tls.get(kind, 0) + 1
        self.changes += 1

    def undo_call(self, service: str, failed: bool) -> None:
        """One compensation call to `service` (a retry is another call)."""
        count = self.compensation.setdefault(service, {"calls": 0, "failures": 0})
        count["calls"] += 1
        count["failures"] += failed
        self.changes += 1

    def any_errors(self) -> bool:
        return any(count.errors for count in self.paths.values())

    def snapshot(self) -> dict[str, Any]:
        return {"paths": {name: {"errors": c.errors, "recoveries": c.recoveries}
                          for name, c in self.paths.items()},
                "shutdown": asdict(self.shutdown), "tls": dict(self.tls),
                "compensation": {name: dict(c) for name, c in self.compensation.items()}}


async def publish(client: aredis.Redis, stream: str, pod: str, counters: Counters) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.hset(key(stream), pod, orjson.dumps(counters.snapshot()))
    pipe.expire(key(stream), KEEP_S)
    await pipe.execute()


async def keep_published(client: aredis.Redis, stream: str, pod: str, counters: Counters) -> None:
    """Publish whenever the counts changed; while the broker is away, try again later."""
    sent = -1
    while True:
        await asyncio.sleep(PUBLISH_EVERY_S)
        changes = counters.changes
        if changes == sent:
            continue
        with contextlib.suppress(*TRANSIENT_REDIS):
            await publish(client, stream, pod, counters)
            sent = changes


async def publish_final(client: aredis.Redis, stream: str, pod: str, counters: Counters) -> None:
    """The last publication, at shutdown; bounded so an absent broker cannot hold the exit."""
    try:
        await asyncio.wait_for(publish(client, stream, pod, counters), timeout=2.0)
    except TRANSIENT_REDIS as exc:  # TimeoutError is an OSError
        print(f"final counts not published: {type(exc).__name__}: {exc}",
              file=sys.stderr, flush=True)
