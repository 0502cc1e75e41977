"""The reference producer pod: `POST /orders` -> WAL (fsync) -> `200` -> idempotent XADD.

The caller's `200` means "durable here": the order is in the fsync'd WAL. The sender
(sender.py) then moves it to the broker, resending until the broker acknowledges it, also
after a crash of this pod (replay from the confirmed offset) and across a broker outage;
the idempotent XADD (link.py) makes every resend harmless. Headers: `X-Order-Id` and
`X-Run-Id` (the `http` publisher sends both), body = the order's payload, forwarded
verbatim (a malformed one is the consumers' to dead-letter).
Known-bad variants: `wal-after-ack` (answers 200 before the WAL write), `no-replay`
(never resends: no start-up replay, a failed send is dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from targets.reference.admin import admin_app
from targets.reference.crash import PRODUCER_POINTS, CrashPoints
from targets.reference.loop import run as run_loop
from targets.reference.metrics import labels
from targets.reference.metrics import route as metrics_route
from targets.reference.pod import PodConfig, die, duration_s, load_pod
from targets.reference.producer.link import (
    KEEP_S,
    SEND_ERRORS,
    BrokerLink,
    Keys,
    Resolver,
    sentinel,
    static,
)
from targets.reference.producer.metrics import ProducerMetrics
from targets.reference.producer.sender import Sender
from targets.reference.producer.wal import Record, Wal
from targets.reference.retry import Backoff
from targets.reference.sentinel import SentinelSettings
from targets.reference.sentinel import parse as parse_sentinel

PUBLISH_EVERY_S = 0.5


@dataclass(frozen=True)
class Settings:
    redis_host: str
    redis_port: int
    stream: str = "orders"
    segment_bytes: int = 4 << 20
    fsync: bool = True
    batch: int = 64
    broker_timeout_s: float = 2.0
    backoff: Backoff = field(default_factory=lambda: Backoff(0.05, 1.0))
    shutdown_grace_s: float = 2.0
    sentinel: SentinelSettings | None = None  # HA broker: find the primary, WAIT for replicas


def parse_settings(raw: dict[str, Any]) -> Settings:
    """Producer settings from the target file; one clear line on a bad value."""
    found = parse_sentinel(raw)  # with sentinel, `redis` is not needed (nor used)
    address = str(raw.get("redis", "" if found is None else "unused:0"))
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        die(f"producer setting redis must be host:port, not {address!r}")
    fsync = raw.get("fsync", True)
    if not isinstance(fsync, bool):
        die(f"producer setting fsync must be true or false, not {fsync!r}")
    try:
        segment_bytes, batch = int(raw.get("segment_bytes", 4 << 20)), int(raw.get("batch", 64))
    except (TypeError, ValueError):
        die("producer settings segment_bytes and batch must be integers")
    if segment_bytes < 4096 or batch < 1:
        die("producer: segment_bytes must be >= 4096 and batch >= 1")
    return Settings(
        redis_host=host, redis_port=int(port), stream=str(raw.get("stream", "orders")),
        segment_bytes=segment_bytes, fsync=fsync, batch=batch,
        broker_timeout_s=duration_s(raw.get("broker_timeout"), 2.0),
        backoff=Backoff(duration_s(raw.get("backoff_base"), 0.05),
                        duration_s(raw.get("backoff_cap"), 1.0)),
        shutdown_grace_s=duration_s(raw.get("shutdown_grace"), 2.0), sentinel=found,
    )


def _json(status: int, body: Any) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


class Producer:
    def __init__(self, pod: PodConfig, settings: Settings, resolve: Resolver | None = None) -> None:
        self.pod = pod
        self.s = settings
        self.bug = pod.bug
        self.crash = CrashPoints(PRODUCER_POINTS)
        self.keys = Keys(settings.stream)
        # where the broker is: a fixed address, or the primary Sentinel names
        ha = settings.sentinel
        if resolve is None:
            resolve = (sentinel(ha) if ha else
                       static(settings.redis_host, settings.redis_port))
        self.link = BrokerLink(resolve, self.keys, settings.broker_timeout_s,
                               ha.wait_replicas if ha else 0, ha.wait_timeout_ms if ha else 500)
        self.sender: Sender | None = None
        self.wal = Wal(pod.data_dir / "wal", settings.segment_bytes, settings.fsync,
                       durable=self._durable)
        self.sender = Sender(self.wal, self.link, self.crash, pod.index, settings.backoff,
                             settings.batch, replay=self.bug != "no-replay")
        self.accepted = 0
        self.refused = 0
        # read at scrape time only (observable instruments): nothing on the ack path
        self.metrics = ProducerMetrics(self.counts, self.sender.oldest_ns, labels(pod))
        self.ready = False
        self.stopping = asyncio.Event()

    def _durable(self, records: list[Record]) -> None:
        if self.sender is not None:
            self.sender.offer(records)

    def counts(self) -> dict[str, Any]:
        """What this pod counted (published to the broker, read by the observer)."""
        assert self.sender is not None
        w = self.wal.stats
        return {"accepted": self.accepted, "refused": self.refused, **self.sender.snapshot(),
                "wal": {"appends": w.appends, "syncs": w.syncs,
                        "sync_us": int(w.sync_s * 1e6), "torn_bytes": w.torn_bytes,
                        "segments": len(self.wal.segments()),
                        "segments_removed": w.segments_removed}}

    def status(self) -> dict[str, Any]:
        return {"name": self.pod.name, "bug": self.bug, "armed": self.crash.armed,
                "ready": self.ready, **self.counts()}

    # ------------------------------------------------------------ POST /orders

    async def post_order(self, request: web.Request) -> web.StreamResponse:
        order_id = request.headers.get("X-Order-Id", "")
        run_id = request.headers.get("X-Run-Id", "")
        if not order_id or not run_id or len(order_id) > 200 or len(run_id) > 200:
            self.refused += 1
            return _json(400, {"ok": False, "error": "headers X-Order-Id and X-Run-Id needed"})
        if self.stopping.is_set():
            return _json(503, {"ok": False, "error": "stopping"})
        payload = await request.read()
        record = self.wal.assign(run_id, order_id, payload)
        record.acked = asyncio.Event()
        if self.bug == "wal-after-ack":  # the bug: the caller hears 200 first
            response = await self._answer(request, record)
            self.crash.reached("after-ack-before-wal", order_id)
            await self.wal.append(record)
            return response
        try:
            await self.wal.append(record)
        except OSError as exc:  # not durable: the caller must not count on it
            self.refused += 1
            return _json(503, {"ok": False, "error": f"wal: {exc.strerror or exc}"})
        return await self._answer(request, record)

    async def _answer(self, request: web.Request, record: Record) -> web.StreamResponse:
        """Send the 200 now (not after the handler returns), then mark the record answered."""
        response = _json(200, {"ok": True, "offset": record.offset})
        await response.prepare(request)
        await response.write_eof()
        self.accepted += 1
        if record.acked is not None:
            record.acked.set()
        return response

    # ------------------------------------------------------------ run

    async def publish_counts(self) -> None:
        """Keep this pod's counts in `<stream>:producers` (field = pod name), so the counts
        of an incarnation a crash ended survive it; try again while the broker is away."""
        sent = None
        while True:
            await asyncio.sleep(PUBLISH_EVERY_S)
            doc = orjson.dumps(self.counts())
            if doc == sent:
                continue
            with contextlib.suppress(*SEND_ERRORS):
                client = await self.link.client()
                pipe = client.pipeline(transaction=True)
                pipe.hset(self.keys.producers, self.pod.name, doc)
                pipe.expire(self.keys.producers, KEEP_S)
                await pipe.execute()
                sent = doc

    async def run(self) -> None:
        assert self.sender is not None
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        self.sender.start()
        with contextlib.suppress(*SEND_ERRORS):  # the drain must not see a dead one's backlog
            await asyncio.wait_for(self.link.set_backlog(self.pod.index, len(self.sender.queue)),
                                   self.s.broker_timeout_s)
        tasks = [asyncio.create_task(self.wal.writer()), asyncio.create_task(self.sender.run()),
                 asyncio.create_task(self.sender.checkpoints()),
                 asyncio.create_task(self.publish_counts())]
        app = web.Application(client_max_size=1 << 20)
        app.router.add_post("/orders", self.post_order)
        public = web.AppRunner(app, access_log=None)
        admin_routes = admin_app(self.crash, self.status, lambda: self.ready)
        metrics_route(admin_routes)  # GET /metrics: the OpenTelemetry metrics (metrics.py)
        admin = web.AppRunner(admin_routes, access_log=None)
        for runner, port in ((public, "http"), (admin, "admin")):
            await runner.setup()
            await web.TCPSite(runner, self.pod.host, self.pod.port(port)).start()
        self.ready = True
        print(f"{self.pod.name} producing (bug={self.bug}, wal offset {self.wal.next_offset})",
              file=sys.stderr, flush=True)
        await self.stopping.wait()
        self.ready = False
        await public.cleanup()  # no new orders; let the sender empty its queue for a while
        deadline = loop.time() + self.s.shutdown_grace_s
        while self.sender.queue and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.wal.checkpoint()
        self.wal.close()
        with contextlib.suppress(*SEND_ERRORS):
            client = await self.link.client()
            await asyncio.wait_for(client.hset(self.keys.producers, self.pod.name,
                                               orjson.dumps(self.counts())), 2.0)
        await self.link.close()
        await admin.cleanup()


def main() -> None:
    pod = load_pod()
    settings = parse_settings(pod.settings)

    async def amain() -> None:
        await Producer(pod, settings).run()

    run_loop(amain())


if __name__ == "__main__":
    main()
