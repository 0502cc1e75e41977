"""Distributed load: achieved vs offered rate with a Locust master and 2 workers whose
history reaches the master only as Locust messages, against a real redis-server.

Usage: .venv/bin/python benchmarks/load_distributed.py [--seconds 20] [--rate 1000]
       [--workers 2] [--smoke]
Baseline, measured in the same run: one local Locust process at the same rate (the default
mode). Ratio = achieved / the schedule's rate (not the slots actually launched: a generator
that falls behind and is stopped offers less, and that must show), where achieved counts
acknowledged publishes completed inside the load window. Goal: the distributed ratio within
+-2% of 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _redis import redis_server
from load_rate import measure

GOAL = 0.02


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (make test)")
    args = ap.parse_args()
    if args.smoke:
        args.seconds, args.rate = 1, 50
    print(
        f"{'mode':<26} {'offered/s':>10} {'achieved/s':>11} {'ratio':>7} {'ok':>7} "
        f"{'not ok':>7} {'min/s':>6} {'max/s':>6} {'lag p99 ms':>10}"
    )
    ratios = {}
    with redis_server() as port:
        for label, users in (("1 process (baseline)", 1),
                             (f"master + {args.workers} workers", args.workers)):  # fmt: skip
            m = measure(port, args.rate, args.seconds, users)
            ratios[users] = ratio = m["achieved"] / args.rate
            print(
                f"{label:<26} {m['offered']:>10.1f} {m['achieved']:>11.1f} {ratio:>7.4f} "
                f"{m['ok']:>7} {m['not_ok']:>7} {m['min_s']:>6} {m['max_s']:>6} "
                f"{m['lag_p99']:>10.2f}"
            )
    dist = ratios[args.workers]
    verdict = "met" if abs(dist - 1) <= GOAL else "NOT met"
    print(f"distributed achieved/scheduled {dist:.4f} (baseline {ratios[1]:.4f}): "
          f"goal within +-{GOAL:.0%} {verdict}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
