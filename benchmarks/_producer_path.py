"""The producer path of benchmarks/pipeline_bench.py: caller -> [caller-producer] ->
producer (fsync'd WAL, answer 200) -> [producer-broker] -> redis, consumers scaled to 0 so
the 2 cores go to this path alone.

Figures: orders/s acknowledged by the producer (a burst from `CONCURRENCY` connections),
the time until the broker held all of them, the acknowledgement latency p50/p99 at half
that rate (open loop), and the WAL's fsync cost per order (the producer's own counts:
time in write + fsync over records made durable; group commit shares one fsync between
all requests that arrived meanwhile) against a lone fsync on the same disk, measured in
the same run.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
import redis
from msgspec.structs import replace

from chaos.platforms.local import LocalPlatform
from chaos.spec.models import TargetSpec

CONCURRENCY = 32
GOAL_RATE = 200.0  # orders/s the producer path must take on 2 cores


@dataclass
class ProducerFigures:
    acked_per_s: float  # orders acknowledged (HTTP 200) per second, saturated
    broker_per_s: float  # the same burst until the broker held all of it
    rate: float  # the half-load rate of the latency run
    p50_ms: float
    p99_ms: float
    goal_p50_ms: float  # at GOAL_RATE / 2: half the goal's load
    goal_p99_ms: float
    fsync_us_per_order: float  # the WAL's write + fsync time per record
    group: float  # records per fsync (group commit)
    lone_fsync_us: float  # one small write + fsync on the same disk, no grouping


def lone_fsync_us(directory: Path, n: int = 50) -> float:
    """The baseline: what an fsync per order would cost on this disk now."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            os.write(fd, b"x" * 200)
            os.fdatasync(fd)
        return (time.perf_counter() - t0) / n * 1e6
    finally:
        os.close(fd)
        path.unlink()


def without_consumers(spec: TargetSpec, fsync: bool = True) -> TargetSpec:
    """Consumers scaled to 0; with fsync=False the producer's WAL skips its fsyncs (the
    baseline that shows what they cost)."""
    comps = [replace(c, replicas=0) if c.labels.get("tier") == "worker"
             else replace(c, settings={**c.settings, "fsync": False})
             if c.labels.get("tier") == "producer" and not fsync else c
             for c in spec.components]
    return replace(spec, components=comps)


class ProducerBench:
    def __init__(self, platform: LocalPlatform) -> None:
        self.platform = platform
        self.url = "http://" + platform.resolve("${proxy:caller-producer}") + "/orders"
        producer = platform.pods({"tier": "producer"})[0]
        self.status_url = platform.admin_url(producer, "admin") + "/status"
        host, _, port = platform.resolve("${component:redis/redis}").rpartition(":")
        self.r = redis.Redis(host=host, port=int(port), decode_responses=True)

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(self.status_url, timeout=10).json()
        return body

    async def _post(self, session: aiohttp.ClientSession, run_id: str, order: int) -> bool:
        headers = {"X-Order-Id": str(order), "X-Run-Id": run_id,
                   "Content-Type": "application/json"}
        body = b'{"sku": "sku-1", "qty": 1, "amount": 1000, "customer": "c-1", "card": "4111"}'
        async with session.post(self.url, data=body, headers=headers) as resp:
            await resp.read()
            return resp.status == 200

    async def burst(self, run_id: str, count: int) -> tuple[float, int]:
        """(seconds until the last answer, orders acknowledged) from CONCURRENCY workers."""
        orders = iter(range(1, count + 1))
        acked = 0

        async def worker(session: aiohttp.ClientSession) -> None:
            nonlocal acked
            for order in orders:
                ok = await self._post(session, run_id, order)  # (not `acked += await`:
                acked += ok  # that reads acked before the await and loses updates)

        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
            return time.perf_counter() - t0, acked

    async def paced(self, run_id: str, rate: float, seconds: float) -> list[float]:
        """Open loop at `rate`: acknowledgement latencies in ms."""
        latencies: list[float] = []
        connector = aiohttp.TCPConnector(limit=2 * CONCURRENCY)  # kept alive, like a service
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(order: int) -> None:
                t0 = time.perf_counter()
                if await self._post(session, run_id, order):
                    latencies.append((time.perf_counter() - t0) * 1000)

            tasks = []
            start = time.perf_counter()
            for order in range(1, max(1, int(rate * seconds)) + 1):
                delay = start + order / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(order)))
            await asyncio.gather(*tasks)
        return latencies

    def in_broker(self, run_id: str, count: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.r.hlen(f"orders:produced:{run_id}") < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"producer path: {run_id} not all in the broker")
            time.sleep(0.005)


def measure_producer(spec: TargetSpec, burst: int, seconds: float,
                     fsync: bool = True) -> ProducerFigures:
    with tempfile.TemporaryDirectory(prefix="pipebench-producer-") as tmp:
        platform = LocalPlatform(without_consumers(spec, fsync), Path(tmp) / "run", None)
        t0 = time.monotonic()
        platform.up()
        print(f"  producer: up in {time.monotonic() - t0:.1f}s", flush=True)
        try:
            bench = ProducerBench(platform)
            asyncio.run(bench.burst("warm", min(200, burst)))
            best = (0.0, 0.0)
            for i in range(2):
                t_start = time.perf_counter()
                took, acked = asyncio.run(bench.burst(f"tp{i}", burst))
                bench.in_broker(f"tp{i}", acked)
                in_broker = time.perf_counter() - t_start
                print(f"    tp{i}: {acked} acknowledged in {took:.2f}s, all in the broker "
                      f"after {in_broker:.2f}s", flush=True)
                best = max(best, (acked / took, acked / in_broker))
            before = bench.status()["wal"]
            lat = asyncio.run(bench.paced("lat", best[0] / 2, seconds))
            wal = bench.status()["wal"]
            appends = max(1, wal["appends"] - before["appends"])
            syncs = max(1, wal["syncs"] - before["syncs"])
            p50, p99 = np.percentile(np.array(lat or [0.0]), [50, 99])
            at_goal = asyncio.run(bench.paced("goal", min(GOAL_RATE / 2, best[0] / 2), seconds))
            g50, g99 = np.percentile(np.array(at_goal or [0.0]), [50, 99])
            return ProducerFigures(best[0], best[1], best[0] / 2, float(p50), float(p99),
                                   float(g50), float(g99),
                                   (wal["sync_us"] - before["sync_us"]) / appends,
                                   appends / syncs, lone_fsync_us(Path(tmp)))
        finally:
            platform.down()


def report(f: ProducerFigures, nofsync: ProducerFigures | None = None) -> None:
    print(f"producer path (caller -> proxy -> producer WAL -> proxy -> broker): "
          f"{f.acked_per_s:.0f} orders/s acknowledged, {f.broker_per_s:.0f}/s into the broker; "
          f"ack latency at {f.rate:.0f}/s (half the saturated rate) p50 {f.p50_ms:.1f} ms, "
          f"p99 {f.p99_ms:.1f} ms; at {GOAL_RATE / 2:.0f}/s (half the goal) "
          f"p50 {f.goal_p50_ms:.1f} ms, p99 {f.goal_p99_ms:.1f} ms")
    print(f"WAL write + fsync time: {f.fsync_us_per_order:.0f} us per order "
          f"({f.group:.1f} orders per fsync; measured in the producer's writer thread, GIL "
          f"waits included) vs {f.lone_fsync_us:.0f} us for a lone fsync now")
    if nofsync is not None:
        print(f"without fsync (same path, same run): {nofsync.acked_per_s:.0f} orders/s, ack p50 "
              f"{nofsync.goal_p50_ms:.1f} ms at {GOAL_RATE / 2:.0f}/s; fsync costs "
              f"{f.goal_p50_ms - nofsync.goal_p50_ms:+.1f} ms ack p50 per order, throughput ratio "
              f"{f.acked_per_s / max(nofsync.acked_per_s, 1e-9):.2f}")
    print(f"producer goal >= 200 orders/s acknowledged through WAL and proxies: "
          f"{'met' if f.acked_per_s >= GOAL_RATE else 'NOT met'}; p99 <= 100 ms at half load "
          f"({GOAL_RATE / 2:.0f}/s): {'met' if f.goal_p99_ms <= 100 else 'NOT met'}")
