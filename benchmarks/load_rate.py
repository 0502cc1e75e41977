"""Achieved vs offered publish rate through Locust against a real redis-server.

Usage: .venv/bin/python benchmarks/load_rate.py [--seconds 20] [--rates 200,1000] [--users 1]
       [--smoke]
The baseline is the offered rate (the schedule); the ratio is achieved / offered, where
achieved counts acknowledged publishes completed inside the load window.  Goal: >= 0.97.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _redis import redis_server

from chaos.load.launcher import LoadGenerator
from chaos.spec.models import Load
from chaos.spec.structs import decode


def measure(port: int, rate: int, seconds: int, users: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as run_dir:
        gen = LoadGenerator(
            decode(Load, {"rate": f"{rate}/s", "duration": f"{seconds}s", "users": users}),
            "redis-stream",
            {"address": f"127.0.0.1:{port}", "stream": f"bench-{rate}"},
            Path(run_dir),
            "bench",
            seed=1,
        )
        try:
            t0 = gen.start()
            while time.time_ns() < t0 + seconds * 1_000_000_000:
                gen.check()
                time.sleep(0.1)
            stats = gen.stop(10)
        finally:
            gen.close()
    ok_per_s = [row["ok"] for row in stats["per_second"][:seconds]]
    return {
        "offered": stats["offered_rate"],
        "achieved": stats["achieved_rate"],
        "ok": stats["counts"]["ok"],
        "not_ok": stats["counts"]["fail"] + stats["counts"]["info"],
        "min_s": min(ok_per_s, default=0),
        "max_s": max(ok_per_s, default=0),
        "lag_p99": stats["schedule_lag_ms"]["p99"],
        "lag_max": stats["schedule_lag_ms"]["max"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--rates", default="200,1000")
    ap.add_argument("--users", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (make test)")
    args = ap.parse_args()
    if args.smoke:
        args.seconds, args.rates = 1, "50"
    print(
        f"{'rate':>6} {'offered/s':>10} {'achieved/s':>11} {'ratio':>7} {'ok':>7} {'not ok':>7} "
        f"{'min/s':>6} {'max/s':>6} {'lag p99 ms':>10} {'lag max ms':>10}"
    )
    with redis_server() as port:
        for rate in (int(r) for r in args.rates.split(",")):
            m = measure(port, rate, args.seconds, args.users)
            print(
                f"{rate:>6} {m['offered']:>10.1f} {m['achieved']:>11.1f} "
                f"{m['achieved'] / m['offered']:>7.4f} {m['ok']:>7} {m['not_ok']:>7} "
                f"{m['min_s']:>6} {m['max_s']:>6} {m['lag_p99']:>10.2f} {m['lag_max']:>10.2f}"
            )


if __name__ == "__main__":
    main()
