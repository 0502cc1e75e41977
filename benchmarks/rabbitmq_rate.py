"""Achieved vs offered publish rate of the `rabbitmq` publisher (publisher confirms) through
Locust against a real RabbitMQ.

Usage: .venv/bin/python benchmarks/rabbitmq_rate.py [--seconds 20] [--rates 1000] [--users 1]
       [--amqp HOST:PORT] [--smoke]
The baseline is the offered rate (the schedule, as in load_rate.py for redis-stream); the
ratio is achieved / offered, where achieved counts publishes the broker confirmed (ok) inside
the load window. Goal at 1,000/s: >= 0.97. Each rate publishes to its own durable queue,
deleted afterwards. Without --amqp a RabbitMQ is started (Debian's `rabbitmq-server`, as the
rabbit-sql target runs it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _servers import server

from chaos.load.launcher import LoadGenerator
from chaos.spec.models import Load
from chaos.spec.structs import decode


def channel(address: str):  # type: ignore[no-untyped-def]
    import pika

    host, port = address.rsplit(":", 1)
    return pika.BlockingConnection(pika.ConnectionParameters(host, int(port))).channel()


def measure(address: str, rate: int, seconds: int, users: int) -> dict[str, Any]:
    queue = f"bench-{rate}-{time.time_ns()}"
    ch = channel(address)  # closed during the load: an idle connection misses heartbeats
    ch.queue_declare(queue, durable=True)
    ch.connection.close()
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            gen = LoadGenerator(
                decode(Load, {"rate": f"{rate}/s", "duration": f"{seconds}s", "users": users}),
                "rabbitmq", {"address": address, "routing_key": queue}, Path(run_dir),
                "bench", seed=1,
            )
            try:
                t0 = gen.start()
                while time.time_ns() < t0 + seconds * 1_000_000_000:
                    gen.check()
                    time.sleep(0.1)
                stats = gen.stop(10)
            finally:
                gen.close()
    finally:
        ch = channel(address)
        queued = ch.queue_declare(queue, passive=True).method.message_count
        ch.queue_delete(queue)
        ch.connection.close()
    ok_per_s = [row["ok"] for row in stats["per_second"][:seconds]]
    return {
        "offered": stats["offered_rate"], "achieved": stats["achieved_rate"],
        "ok": stats["counts"]["ok"], "not_ok": stats["counts"]["fail"] + stats["counts"]["info"],
        "queued": queued, "min_s": min(ok_per_s, default=0), "max_s": max(ok_per_s, default=0),
        "lag_p99": stats["schedule_lag_ms"]["p99"], "errors": stats.get("errors", {}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--rates", default="1000")
    ap.add_argument("--users", type=int, default=1)
    ap.add_argument("--amqp", help="host:port of a running RabbitMQ (guest/guest)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (make test)")
    args = ap.parse_args()
    if args.smoke:
        args.seconds, args.rates = 1, "50"
    print(f"{'rate':>6} {'offered/s':>10} {'achieved/s':>11} {'ratio':>7} {'ok':>7} "
          f"{'not ok':>7} {'queued':>7} {'min/s':>6} {'max/s':>6} {'lag p99 ms':>10}")
    with server("broker", args.amqp) as address:
        for rate in (int(r) for r in args.rates.split(",")):
            m = measure(address, rate, args.seconds, args.users)
            ratio = m["achieved"] / m["offered"]
            print(f"{rate:>6} {m['offered']:>10.1f} {m['achieved']:>11.1f} {ratio:>7.4f} "
                  f"{m['ok']:>7} {m['not_ok']:>7} {m['queued']:>7} {m['min_s']:>6} "
                  f"{m['max_s']:>6} {m['lag_p99']:>10.2f}  (goal >= 0.97 at 1,000/s)")
            if m["errors"]:
                print(f"       not ok by error: {m['errors']}")


if __name__ == "__main__":
    main()
