"""Reference pipeline on the local platform: highest sustained throughput (orders/s) with and
without the proxies in the path, and end-to-end p50/p99 at half that rate; then the
producer path (benchmarks/_producer_path.py): orders/s the write-ahead-log producer
acknowledges through its proxies, its p99 at half that rate, the WAL's fsync cost per order.

Throughput: publish a burst much faster than the consumers can go and time until all of it
is terminal (consumers saturated). Latency: open-loop publishing at half that rate;
end-to-end = publish acknowledged -> terminal outcome recorded (observations.json).
The unproxied variant rewrites every `${proxy:X}` setting to X's upstream, in the same run.

    .venv/bin/python benchmarks/pipeline_bench.py [--burst 3000] [--seconds 8] [--smoke]
        [--only consumers|producer]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _producer_path import measure_producer, report  # noqa: E402

from chaos.checks.model import NONE  # noqa: E402
from chaos.checks.observations_file import read_observations  # noqa: E402
from chaos.load.payload import PayloadMaker  # noqa: E402
from chaos.observers.reference import ReferenceObserver  # noqa: E402
from chaos.platforms.local import LocalPlatform  # noqa: E402
from chaos.publishers.redis_stream import RedisStreamPublisher  # noqa: E402
from chaos.spec.loader import load_target  # noqa: E402
from chaos.spec.models import TargetSpec  # noqa: E402
from chaos.spec.structs import decode  # noqa: E402

PROXY_REF = re.compile(r"\$\{proxy:([^{}]*(?:\{index\}[^{}]*)*)\}")


def unproxied(spec: TargetSpec, raw: dict[str, Any]) -> TargetSpec:
    """The same target with every ${proxy:X} (also X with {index}) replaced by X's upstream."""
    upstreams = {p.name: p.upstream for p in spec.proxies}

    def direct(match: re.Match[str]) -> str:
        pattern = re.compile(re.escape(match.group(1)).replace(r"\{index\}", r"\d+") + "$")
        found = {u for name, u in upstreams.items() if pattern.match(name)}
        if len(found) != 1:
            raise SystemExit(f"cannot bypass {match.group(0)}: upstreams {sorted(found)}")
        return found.pop()

    def rewrite(value: Any) -> Any:
        if isinstance(value, str):
            return PROXY_REF.sub(direct, value)
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value

    doc = dict(raw)  # the file's own data: durations still written as text
    for key in ("components", "publisher", "observer", "probes"):
        if key in doc:
            doc[key] = rewrite(doc[key])
    return decode(TargetSpec, doc)


@dataclass
class Figures:
    throughput: float
    cpu_ms: float  # CPU time of the whole target (pods + proxy server) per order
    rate: float
    p50_ms: float
    p99_ms: float
    completed: int


class Bench:
    def __init__(self, platform: LocalPlatform, workdir: Path) -> None:
        self.platform = platform
        self.workdir = workdir
        target = platform.target
        assert target.publisher is not None and target.observer is not None
        self.pub_settings = self._resolved(target.publisher.settings)
        self.observer = ReferenceObserver(self._resolved(target.observer.settings), platform)
        self.maker = PayloadMaker.from_options(7, 0.0, {})
        self.cpu_ms_per_order = 0.0

    def _resolved(self, raw: dict[str, Any]) -> dict[str, Any]:
        return {k: self.platform.resolve(v) if isinstance(v, str) else v for k, v in raw.items()}

    def publish(self, run_id: str, count: int, rate: float | None) -> dict[int, int]:
        """order id -> ns when the broker acknowledged it (ok outcomes only)."""
        publisher = RedisStreamPublisher(self.pub_settings, run_id)
        acked: dict[int, int] = {}
        start = time.monotonic()
        try:
            for order_id in range(1, count + 1):
                if rate is not None:
                    delay = start + order_id / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                payload, _ = self.maker.make(order_id)
                if publisher.publish(order_id, payload).outcome == "ok":
                    acked[order_id] = time.time_ns()
        finally:
            publisher.close()
        return acked

    def drain(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.observer.drained():
            if time.monotonic() > deadline:
                raise SystemExit(f"pipeline not drained after {timeout_s:g}s")
            time.sleep(0.05)

    def terminal_ns(self, run_id: str) -> dict[int, int]:
        path = self.workdir / f"{run_id}.json"
        self.observer.observe(run_id, path)
        obs = read_observations(path)
        done = obs.outcome != NONE
        return dict(zip(obs.order_id[done].tolist(), obs.t_terminal[done].tolist(), strict=True))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far, per component and by the proxy server."""
        pids = [(p.component, p.pid) for p in self.platform.pods({}) if p.pid]
        if self.platform.proxy_server_pid:
            pids.append(("proxy-server", self.platform.proxy_server_pid))
        pids.append(("benchmark (publisher)", os.getpid()))
        used: dict[str, float] = {}
        for name, pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            used[name] = used.get(name, 0.0) + times.user + times.system
        return used

    def throughput(self, run_id: str, burst: int) -> float:
        before = self.cpu_seconds()
        t0 = time.time_ns()
        self.publish(run_id, burst, None)
        self.drain()
        ends = self.terminal_ns(run_id)
        seconds = (max(ends.values()) - t0) / 1e9
        after = self.cpu_seconds()
        spent = {k: after[k] - before.get(k, 0.0) for k in after}
        shares = ", ".join(f"{k} {v / seconds:.2f}" for k, v in
                           sorted(spent.items(), key=lambda kv: -kv[1]))
        target_cpu = sum(v for k, v in spent.items() if not k.startswith("benchmark"))
        self.cpu_ms_per_order = 1000 * target_cpu / max(1, len(ends))
        print(f"    {run_id}: {len(ends)} orders in {seconds:.1f}s; "
              f"{self.cpu_ms_per_order:.1f} CPU ms/order; cores busy: {shares}", flush=True)
        return len(ends) / seconds

    def latency(self, run_id: str, rate: float, seconds: float) -> tuple[float, float, int]:
        acked = self.publish(run_id, max(1, int(rate * seconds)), rate)
        self.drain()
        ends = self.terminal_ns(run_id)
        lat = np.array([ends[o] - t for o, t in acked.items() if o in ends], dtype=np.float64)
        p50, p99 = np.percentile(lat / 1e6, [50, 99])
        return float(p50), float(p99), len(lat)


def measure(spec: TargetSpec, label: str, burst: int, seconds: float) -> Figures:
    """Saturated throughput (best of two bursts, after a warm-up), then latency at half it."""
    with tempfile.TemporaryDirectory(prefix=f"pipebench-{label}-") as tmp:
        platform = LocalPlatform(spec, Path(tmp) / "run", None)
        t0 = time.monotonic()
        platform.up()
        print(f"  {label}: up in {time.monotonic() - t0:.1f}s", flush=True)
        try:
            bench = Bench(platform, Path(tmp))
            bench.throughput(f"{label}-warm", min(200, burst))
            runs = [(bench.throughput(f"{label}-tp{i}", burst), bench.cpu_ms_per_order)
                    for i in range(2)]
            best, cpu_ms = max(runs)
            print(f"  {label}: saturated throughput {best:.0f} orders/s", flush=True)
            p50, p99, n = bench.latency(f"{label}-lat", best / 2, seconds)
            return Figures(best, cpu_ms, best / 2, p50, p99, n)
        finally:
            platform.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=str(ROOT / "targets" / "reference-local.yaml"))
    parser.add_argument("--burst", type=int, default=3000, help="orders per throughput burst")
    parser.add_argument("--seconds", type=float, default=8.0, help="latency run length")
    parser.add_argument("--producer-target",
                        default=str(ROOT / "targets" / "reference-local-producer.yaml"))
    parser.add_argument("--only", choices=("consumers", "producer"),
                        help="measure one path (default: both)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, the proxied variant only (make test)")
    args = parser.parse_args()
    if args.smoke:
        args.burst, args.seconds = 30, 0.5
    if args.only != "consumers":
        producer_spec, _ = load_target(Path(args.producer_target))
        print(f"producer path: {producer_spec.metadata.name}, burst {args.burst}", flush=True)
        with_fsync = measure_producer(producer_spec, args.burst, args.seconds)
        nofsync = None if args.smoke else measure_producer(producer_spec, args.burst,
                                                           args.seconds, fsync=False)
        report(with_fsync, nofsync)
    if args.only == "producer":
        return
    spec, located = load_target(Path(args.target))
    print(f"pipeline benchmark: {spec.metadata.name}, burst {args.burst}, "
          f"latency run {args.seconds:g}s at half the saturated rate; "
          f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}", flush=True)
    bypass = unproxied(spec, located.data)  # built even in a smoke run: the rewrite is checked
    variants = [("proxied", spec)] if args.smoke else [("unproxied", bypass), ("proxied", spec)]
    figures = {label: measure(s, label, args.burst, args.seconds) for label, s in variants}
    print()
    print(f"{'':12}{'orders/s':>10}{'cpu ms/order':>14}{'rate':>8}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'orders':>8}")
    for name, f in figures.items():
        print(f"{name:12}{f.throughput:10.0f}{f.cpu_ms:14.1f}{f.rate:8.0f}{f.p50_ms:9.1f}"
              f"{f.p99_ms:9.1f}{f.completed:8d}")
    proxied = figures["proxied"]
    direct = figures.get("unproxied")
    if direct is not None:
        print(f"ratio proxied/unproxied: throughput {proxied.throughput / direct.throughput:.2f}, "
              f"CPU/order {proxied.cpu_ms / direct.cpu_ms:.2f}, "
              f"p50 {proxied.p50_ms / direct.p50_ms:.2f}, p99 {proxied.p99_ms / direct.p99_ms:.2f}")
    cores = os.cpu_count() or 1
    print(f"CPU-bound ceiling on {cores} idle cores: ~{1000 * cores / proxied.cpu_ms:.0f} "
          f"orders/s proxied (load average now {os.getloadavg()[0]:.1f})")
    ok_tp = proxied.throughput >= 200
    ok_p99 = proxied.p99_ms <= 100
    print(f"goal >= 200 orders/s through proxies: {'met' if ok_tp else 'NOT met'}; "
          f"p99 <= 100 ms at half load: {'met' if ok_p99 else 'NOT met'}")


if __name__ == "__main__":
    main()
