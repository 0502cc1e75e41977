"""The reference consumer pod: how a message consumer should be written.

XREADGROUP -> (already processed? ack and skip) -> saga -> record outcome + XACK in one
atomic step, only while it still owns the entry (fencing.py: a woken zombie does nothing).
Reclaims entries idle longer than `reclaim_idle` (a restarted pod has a new name, so only
reclaim recovers its predecessor's pending entries), heartbeats its own in-flight entries
so live work is not stolen, dead-letters poison after `max_attempts` deliveries, and on
SIGTERM finishes (or, after `shutdown_grace`, releases) in-flight work.
Known-bad variants (`bug`) exist so the checkers can be proven to catch each mistake.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from targets.reference import counters as published
from targets.reference import recovery, sentinel, shutdown
from targets.reference.admin import admin_app
from targets.reference.bugs import WRONG_REASON, dead_letters_valid
from targets.reference.crash import CrashPoints
from targets.reference.fencing import Fenced, Fencing
from targets.reference.loop import run as run_loop
from targets.reference.metrics import PipelineMetrics, labels
from targets.reference.order import Poison, parse_entry
from targets.reference.pod import PodConfig, die, duration_s, load_pod
from targets.reference.replicated import ReplicatedStreams
from targets.reference.retry import Backoff, retry_forever
from targets.reference.saga import SagaConfig, Services, run_saga
from targets.reference.sentinel import SentinelSettings
from targets.reference.streams import TRANSIENT_REDIS, Entry, StreamNames, Streams


@dataclass
class Settings:
    redis_host: str
    redis_port: int
    urls: dict[str, str]
    names: StreamNames
    reclaim_idle_s: float = 2.0
    max_attempts: int = 5
    concurrency: int = 16
    call_timeout_s: float = 2.0
    backoff: Backoff = field(default_factory=Backoff)
    shutdown_grace_s: float = 5.0
    tls_compensate: bool = False
    step_deadline_s: float | None = 4.0
    sentinel: SentinelSettings | None = None  # HA broker: find the primary


def parse_settings(raw: dict[str, Any]) -> Settings:
    """Consumer settings from the target file; one clear line on a bad value."""
    found = sentinel.parse(raw)
    address = str(raw.get("redis", ""))
    host, _, port = address.rpartition(":")
    if found is None and (not host or not port.isdigit()):
        die(f"consumer setting redis must be host:port, not {address!r}")
    urls = {}
    for service in ("inventory", "payment", "points"):
        url = str(raw.get(service, ""))
        if not url.startswith(("http://", "https://")):
            die(f"consumer setting {service} must be an http(s):// URL, not {url!r}")
        urls[service] = url.rstrip("/")
    tls_mode = str(raw.get("tls_errors", "retry"))
    if tls_mode not in ("retry", "compensate"):
        die(f"consumer setting tls_errors must be retry or compensate, not {tls_mode!r}")
    settings = Settings(
        redis_host=host, redis_port=int(port) if port.isdigit() else 0, urls=urls,
        names=StreamNames(str(raw.get("stream", "orders")), str(raw.get("group", "workers")),
                          str(raw.get("dlq", "orders:dlq"))),
        reclaim_idle_s=duration_s(raw.get("reclaim_idle"), 2.0),
        max_attempts=int(raw.get("max_attempts", 5)),
        concurrency=int(raw.get("concurrency", 16)),
        call_timeout_s=duration_s(raw.get("call_timeout"), 2.0),
        backoff=Backoff(duration_s(raw.get("backoff_base"), 0.05),
                        duration_s(raw.get("backoff_cap"), 2.0)),
        shutdown_grace_s=duration_s(raw.get("shutdown_grace"), 5.0),
        tls_compensate=tls_mode == "compensate",
        step_deadline_s=None if raw.get("step_deadline") == "none"
        else duration_s(raw.get("step_deadline"), 4.0),
        sentinel=found,
    )
    if settings.max_attempts < 1 or settings.concurrency < 1 or settings.reclaim_idle_s <= 0:
        die("consumer: max_attempts and concurrency must be >= 1, reclaim_idle > 0")
    return settings


@dataclass
class Stats:
    completed: int = 0
    compensated: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    reclaimed: int = 0
    poison_retries: int = 0


class Consumer:
    def __init__(self, pod: PodConfig, settings: Settings) -> None:
        self.pod = pod
        self.s = settings
        self.bug = pod.bug
        self.crash = CrashPoints()
        self.stats = Stats()
        self.counters = published.Counters()
        self.metrics = PipelineMetrics("consumer", self.bug == "metrics-swallow-duplicates",
                                       labels(pod))
        self.in_flight: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()
        self.ready = False
        timeout = max(3.0, settings.call_timeout_s + 1.0)
        ha = settings.sentinel
        self.redis = (sentinel.client(ha, timeout, settings.concurrency + 8) if ha else
                      recovery.client(settings.redis_host, settings.redis_port, timeout,
                                      max_connections=settings.concurrency + 8))
        self.streams = (ReplicatedStreams(self.redis, settings.names, pod.name,
                                          ha.wait_replicas, ha.wait_timeout_ms)
                        if ha and ha.wait_replicas else
                        Streams(self.redis, settings.names, pod.name))
        # (under ack-before-effects the early ACK leaves nothing to own: no fence either)
        self.fencing = Fencing(self.redis, settings.names, pod.name,
                               self.bug not in ("no-fencing", "ack-before-effects"),
                               settings.backoff)
        self.services = Services(
            SagaConfig(settings.urls, settings.call_timeout_s, settings.backoff,
                       settings.tls_compensate, settings.step_deadline_s,
                       idempotent=self.bug != "no-idempotency",
                       compensate=self.bug != "no-compensation", bug=self.bug),
            str(pod.ca_file) if pod.ca_file else None, limit=settings.concurrency * 2,
            counters=self.counters)

    async def _redis(self, what: str, fn: Any) -> Any:
        return await retry_forever(lambda: recovery.tracked(self.counters, "ops", fn),
                                   TRANSIENT_REDIS, self.s.backoff, what)

    def status(self) -> dict[str, Any]:
        return {"name": self.pod.name, "bug": self.bug, "armed": self.crash.armed,
                "in_flight": len(self.in_flight), "ready": self.ready,
                "stopping": self.stopping.is_set(),
                "completed": self.stats.completed, "compensated": self.stats.compensated,
                "dead_lettered": self.stats.dead_lettered,
                "duplicates": self.stats.duplicates, "reclaimed": self.stats.reclaimed,
                "poison_retries": self.stats.poison_retries,
                "fenced": self.fencing.fenced, "fenced_by_stage": dict(self.fencing.by_stage),
                "tls_failures": dict(self.services.tls_failures),
                "calls": self.services.calls, "slow_calls": self.services.slow_calls,
                "max_call_ms": round(self.services.max_call_s * 1000, 1),
                **self.counters.snapshot()}

    # ------------------------------------------------------------ one message

    async def process(self, entry: Entry, deliveries: int, known_new: bool = False) -> None:
        entry_id, fields = entry
        order = parse_entry(fields)
        run_id, order_key = order.run_id, str(order.order_id)
        if self.bug != "no-idempotency" and not known_new:
            done = await self._redis("processed check",
                                     lambda: self.streams.outcome_of(run_id, order_key))
            if done is not None:
                self.stats.duplicates += 1
                self.metrics.duplicate()
                await self._redis("ack duplicate",
                                  lambda: self.streams.count_dup(run_id, order_key, entry_id))
                return
        if deliveries > 1:
            self.metrics.duplicate()  # a redelivery (reclaimed), not yet recorded as done
        if self.bug == "ack-before-effects":
            await self._redis("early ack", lambda: self.streams.ack(entry_id))
        self.crash.reached("before-effects", entry_id)
        if isinstance(order, Poison):
            await self.poison(entry_id, order, deliveries)
            return
        if dead_letters_valid(self.bug, order_key, deliveries):
            await self._redis("dead-letter", lambda: self.streams.finish(
                run_id, order_key, entry_id, "dead_lettered", deliveries, dlq_reason=WRONG_REASON))
            self.stats.dead_lettered += 1
            self.metrics.finished("dead_lettered")
            return
        try:
            outcome = await run_saga(self.services, order,
                                     self.fencing.fence(entry_id, deliveries))
        except Fenced as exc:  # another consumer owns it now: leave it alone
            stage = exc.stage
            print(f"order {order_key}: fenced ({stage}): {exc}", file=sys.stderr, flush=True)
            await self._redis("fenced", lambda: self.fencing.abandoned(run_id, order_key, stage))
            return
        self.crash.reached("after-effects-before-ack", entry_id)
        record = self.fencing.record(outcome, deliveries)
        if await self._redis("finish", lambda: self.fencing.finish(
                run_id, order_key, entry_id, record, deliveries)) < 0:
            return  # fenced: the new owner records the outcome
        if outcome == "completed":
            self.stats.completed += 1
        else:
            self.stats.compensated += 1
        self.metrics.finished(outcome)
        self.crash.reached("after-ack", entry_id)

    async def poison(self, entry_id: str, order: Poison, deliveries: int) -> None:
        """Redeliver (the broker counts it) until max_attempts, then dead-letter."""
        if self.bug == "no-dlq":
            return  # left pending: reclaim delivers it again, forever
        attempt = 0
        while deliveries < self.s.max_attempts:
            attempt += 1
            self.stats.poison_retries += 1
            await asyncio.sleep(self.s.backoff.delay(attempt))
            deliveries = await self._redis("redeliver", lambda: self.streams.redeliver(entry_id))
            if deliveries == 0:
                return  # no longer pending: someone else finished it
            self.metrics.duplicate()
        await self._redis("dead-letter", lambda: self.streams.finish(
            order.run_id, order.order_id, entry_id, "dead_lettered", deliveries,
            dlq_reason=order.reason))
        self.stats.dead_lettered += 1
        self.metrics.finished("dead_lettered")
        self.crash.reached("after-ack", entry_id)

    def spawn(self, entry: Entry, deliveries: int, known_new: bool = False) -> None:
        entry_id = entry[0]
        if entry_id in self.in_flight:
            return
        self.in_flight.add(entry_id)
        self.metrics.taken(entry_id, _ts(entry[1]))

        async def run() -> None:
            try:
                await self.process(entry, deliveries, known_new)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug here must not kill the pod: leave it pending
                print(f"error processing {entry_id}: {type(exc).__name__}: {exc}",
                      file=sys.stderr, flush=True)
            finally:
                self.in_flight.discard(entry_id)
                self.metrics.released(entry_id)

        task = asyncio.create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ------------------------------------------------------------ loops

    def free(self) -> int:
        return self.s.concurrency - len(self.in_flight)

    async def read_loop(self) -> None:
        while not self.stopping.is_set():
            if self.bug == "no-reconnect" and self.counters.any_errors():
                print("read loop ends (bug no-reconnect)", file=sys.stderr, flush=True)
                return
            if self.free() <= 0:
                await asyncio.sleep(0.005)
                continue
            try:
                entries = await self.streams.read(min(self.free(), 32), block_ms=500)
            except Exception as exc:
                if not recovery.read_failure(exc):
                    raise
                self.counters.failed("read", exc)
                if self.bug != "no-reconnect":  # the bug ends the loop instead (above)
                    await recovery.reconnect(self.streams, self.s.backoff, self.counters,
                                             self.stopping)
                continue
            self.counters.ok("read")
            done = [False] * len(entries)
            if entries and self.bug != "no-idempotency":  # the processed check, batched
                try:
                    done = await self.streams.processed(entries)
                except TRANSIENT_REDIS:
                    done = [True] * len(entries)  # unknown: each checks for itself
            for entry, finished in zip(entries, done, strict=True):
                self.spawn(entry, 1, known_new=not finished)

    async def reclaim_loop(self) -> None:
        idle_ms = int(self.s.reclaim_idle_s * 1000)
        cursor = "0-0"
        while not self.stopping.is_set():
            await asyncio.sleep(max(0.05, self.s.reclaim_idle_s / 2))
            try:
                while self.free() > 0 and not self.stopping.is_set():
                    cursor, entries = await self.streams.autoclaim(idle_ms, self.free(), cursor)
                    for entry in entries:
                        self.stats.reclaimed += 1
                        self.spawn(entry, await self.streams.deliveries(entry[0]))
                    if cursor == "0-0" or not entries:
                        break
            except TRANSIENT_REDIS as exc:
                self.counters.failed("reclaim", exc)
                continue
            self.counters.ok("reclaim")

    async def heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(max(0.05, self.s.reclaim_idle_s / 3))
            # cut off from redis: others may reclaim; idempotency keeps that safe
            if self.in_flight:
                with contextlib.suppress(*TRANSIENT_REDIS):
                    await recovery.tracked(self.counters, "heartbeat",
                                           lambda: self.streams.heartbeat(set(self.in_flight)))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        app = admin_app(self.crash, self.status, lambda: self.ready)
        self.metrics.route(app)  # GET /metrics: the OpenTelemetry metrics (metrics.py)
        admin = web.AppRunner(app, access_log=None)
        await admin.setup()
        await web.TCPSite(admin, self.pod.host, self.pod.port("admin")).start()
        await self._redis("create group", self.streams.ensure_group)
        self.ready = True
        print(f"{self.pod.name} consuming (bug={self.bug})", file=sys.stderr, flush=True)
        taking = [asyncio.create_task(self.read_loop())]
        if self.bug != "no-reclaim":
            taking.append(asyncio.create_task(self.reclaim_loop()))
        loops = [*taking, asyncio.create_task(self.heartbeat_loop()),
                 asyncio.create_task(published.keep_published(
                     self.redis, self.s.names.stream, self.pod.name, self.counters))]
        await self.stopping.wait()
        self.ready = False
        for task in taking:  # no new work from here on (an entry read meanwhile stays pending)
            task.cancel()
        await asyncio.gather(*taking, return_exceptions=True)
        if self.bug == "shutdown-acks-in-flight":
            await shutdown.ack_and_drop(set(self.tasks), set(self.in_flight), self.streams.ack,
                                        self.counters)
        else:  # finish in-flight work, or release it (left pending for reclaim)
            await shutdown.finish_or_release(self.tasks, self.s.shutdown_grace_s, self.counters)
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, *self.tasks, return_exceptions=True)
        await published.publish_final(self.redis, self.s.names.stream, self.pod.name,
                                      self.counters)
        await self.services.close()
        await self.redis.aclose()
        await admin.cleanup()


def _ts(fields: dict[str, str]) -> int | None:
    """The publisher's timestamp of an entry (ns), None when absent or malformed."""
    raw = fields.get("ts", "")
    return int(raw) if raw.isdigit() else None


def main() -> None:
    pod = load_pod()
    settings = parse_settings(pod.settings)

    async def amain() -> None:
        await Consumer(pod, settings).run()

    run_loop(amain())


if __name__ == "__main__":
    main()
