"""History cost: per-publish recording overhead, and big histories written and merged.

Usage: .venv/bin/python benchmarks/history_bench.py [--publishes 20000] [--big 1000000]
       [--huge 10000000]   (0 skips a part)   [--smoke]
1. Publishing through RedisStreamPublisher to a real redis-server with and without recording
   each publish in a HistoryWriter: the ratio is the per-publish cost of the history.
2. `--big` publishes recorded one by one (two strided "processes", claims every 100 ids, as the
   driver does): resident memory sampled while writing must stay flat; then read_history.
3. `--huge` rows written with write_arrays and merged by read_history in a fresh process:
   time and peak memory (the checkers' 10,000,000-publish case).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))

from _redis import redis_server

from chaos.checks.model import OK
from chaos.load.history import HistoryWriter, read_history
from chaos.publishers.redis_stream import RedisStreamPublisher


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def publish_cost(port: int, n: int, rounds: int = 3) -> None:
    pub = RedisStreamPublisher({"address": f"127.0.0.1:{port}", "stream": "bench"}, "bench")
    payload = b'{"sku": "sku-1", "qty": 1, "amount": 1999, "customer": "c-1", "card": "4242"}'
    best = {"plain": float("inf"), "recorded": float("inf")}
    with tempfile.TemporaryDirectory() as d:
        for r in range(rounds):  # alternate, keep the best of each: less noise on a busy box
            start = time.perf_counter()
            for i in range(n):
                pub.publish(i, payload)
            best["plain"] = min(best["plain"], time.perf_counter() - start)
            with HistoryWriter(Path(d) / f"h{r}.pch", run_id="bench") as w:
                start = time.perf_counter()
                w.claim(0, n)
                for i in range(n):
                    t_invoke = time.time_ns()
                    res = pub.publish(i, payload)
                    w.done(i, OK, t_invoke, time.time_ns(), error=res.error)
                best["recorded"] = min(best["recorded"], time.perf_counter() - start)
    pub.close()
    plain, rec = (best[k] / n * 1e6 for k in ("plain", "recorded"))
    print(f"publish without history: {plain:8.1f} us/publish")
    print(f"publish with history:    {rec:8.1f} us/publish  ratio {rec / plain:.3f}")


def big_history(n: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        run = Path(d)
        writers = [HistoryWriter(run / "history" / f"load-{k}.pch", run_id="b") for k in (0, 1)]
        samples: list[tuple[int, float]] = []
        start = time.perf_counter()
        for i in range(n):
            w = writers[i % 2]
            if i % 200 < 2:
                w.claim(i, min(n, i + 200), 2)
            w.done(i, OK, i, i + 1000, error="TimeoutError" if i % 1000 == 0 else None)
            if i % (n // 10) == 0:
                samples.append((i, rss_mb()))
        for w in writers:
            w.close()
        wrote = time.perf_counter() - start
        samples.append((n, rss_mb()))
        print(f"write {n:,} publishes one by one: {wrote:.2f}s "
              f"({wrote / n * 1e6:.2f} us/record)")  # fmt: skip
        print("  rss while writing (MB): " + ", ".join(f"{i:,}: {m:.1f}" for i, m in samples))
        print(f"  growth from 10% to 100%: {samples[-1][1] - samples[1][1]:+.1f} MB")
        before = rss_mb()
        start = time.perf_counter()
        h = read_history(run)
        took = time.perf_counter() - start
        assert h.order_id.size == n and int(h.order_id[-1]) == n - 1
        print(f"merge {n:,} publishes (2 files): {took:.2f}s, rss +{rss_mb() - before:.0f} MB")


HUGE = """
import resource, sys, time, numpy as np
from pathlib import Path
from chaos.load.history import HistoryWriter, read_history
n, run = int(sys.argv[1]), Path(sys.argv[2])
if sys.argv[3] == "write":  # two strided processes with claims, as Locust workers write
    t = time.perf_counter()
    for k in (0, 1):
        ids = np.arange(k, n, 2, dtype=np.int64)
        with HistoryWriter(run / "history" / f"load-{k}.pch", run_id="huge") as w:
            for first in range(k, n, 200):
                w.claim(first, min(n, first + 200), 2, t=first * 1000)
            w.write_arrays(ids, np.full(ids.size, 1, np.int8), ids * 1000, ids * 1000 + 5)
    print(f"write_arrays {n:,} (2 files, claims): {time.perf_counter() - t:.2f}s")
else:
    t = time.perf_counter()
    h = read_history(run)
    took = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"read_history {h.order_id.size:,}: {took:.2f}s, peak rss {peak:.0f} MB")
"""


def huge_history(n: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        for step in ("write", "read"):
            subprocess.run([sys.executable, "-c", HUGE, str(n), d, step], check=True)
        size = sum(p.stat().st_size for p in Path(d, "history").iterdir())
        print(f"  file size {size / 2**20:.0f} MB ({size / n:.1f} bytes/publish)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--publishes", type=int, default=20_000)
    ap.add_argument("--big", type=int, default=1_000_000)
    ap.add_argument("--huge", type=int, default=10_000_000)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (make test)")
    args = ap.parse_args()
    if args.smoke:
        args.publishes, args.big, args.huge = 200, 2_000, 4_000
    if args.publishes:
        with redis_server() as port:
            publish_cost(port, args.publishes)
    if args.big:
        big_history(args.big)
    if args.huge:
        huge_history(args.huge)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench process peak rss {peak:.0f} MB")


if __name__ == "__main__":
    main()
