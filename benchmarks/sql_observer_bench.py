"""The `sql` observer's read time for N orders from PostgreSQL, against a plain cursor read
of the same rows measured in the same run.

Usage: .venv/bin/python benchmarks/sql_observer_bench.py [--orders 1000000] [--pg HOST:PORT]
       [--smoke]
A pipeline's tables (docs/own-pipeline.md's example: one outcome row per order, one effect
row per applied effect, a dead letter per 1,000 orders) are filled with generate_series. The
baseline fetches the observer's three queries with one psycopg cursor each (`fetchall`,
nothing converted, the garbage collector paused as in the observer); the observer runs them
through SQLAlchemy, builds the observations document and writes observations.json
(`observe()`). Goal: observe() <= 10 s for 1M orders.
Without --pg a PostgreSQL is started (Debian's `postgresql`, as the rabbit-sql target runs it).
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _servers import server

SCHEMA = """
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;
CREATE TABLE bench.outcomes (run_id text, order_id bigint, outcome text, done_at timestamptz,
                             deliveries int, amount bigint, qty int);
CREATE TABLE bench.effects (run_id text, order_id bigint);
CREATE TABLE bench.dlq (id serial, run_id text, order_id bigint, attempts int, reason text);
INSERT INTO bench.outcomes
  SELECT 'bench', i, CASE WHEN i % 1000 = 0 THEN 'dead_lettered' ELSE 'completed' END,
         now(), 1 + (i % 7 = 0)::int, 100 + i % 5000, 1 + i % 3
  FROM generate_series(1, %(n)s) AS i;
INSERT INTO bench.effects SELECT 'bench', i FROM generate_series(1, %(n)s) AS i
  WHERE i % 1000 <> 0;
INSERT INTO bench.dlq (run_id, order_id, attempts, reason)
  SELECT 'bench', i, 5, 'payload is not valid JSON' FROM generate_series(1000, %(n)s, 1000) AS i;
CREATE INDEX ON bench.outcomes (run_id);
CREATE INDEX ON bench.effects (run_id);
ANALYZE;
"""
QUERIES = {
    "orders": """SELECT order_id, outcome, (extract(epoch FROM done_at) * 1e9)::bigint
                   AS t_terminal, greatest(deliveries - 1, 0) AS redeliveries,
                   amount AS value, qty, amount / 100 AS points
                 FROM bench.outcomes WHERE run_id = :run_id""",
    "effects": """SELECT 'order.apply' AS effect, order_id, count(*) AS count
                  FROM bench.effects WHERE run_id = :run_id GROUP BY order_id""",
    "dead_letters": """SELECT order_id, attempts, reason FROM bench.dlq
                       WHERE run_id = :run_id ORDER BY id""",
}


def baseline(url: str) -> tuple[float, int]:
    """Seconds to fetch the three queries' rows with plain psycopg cursors, and the rows."""
    import psycopg

    gc.disable()  # as the observer does while it reads (chaos.observers.tables.bulk)
    start = time.perf_counter()
    rows = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for sql in QUERIES.values():
            cur.execute(sql.replace(":run_id", "%(run_id)s"), {"run_id": "bench"})
            rows += len(cur.fetchall())
    seconds = time.perf_counter() - start
    gc.enable()
    return seconds, rows


def observer(url: str) -> tuple[float, int]:
    """Seconds of the sql observer's observe() (queries, document, observations.json)."""
    from chaos.checks.observations_file import read_observations
    from chaos.observers.sql import SqlObserver

    obs = SqlObserver({"url": url.replace("postgresql://", "postgresql+psycopg://"),
                       "queries": QUERIES, "max_attempts": 5, "effects": ["order.apply"]})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "observations.json"
        start = time.perf_counter()
        obs.observe("bench", path)
        seconds = time.perf_counter() - start
        orders = len(read_observations(path).order_id)
    obs.engine.dispose()
    return seconds, orders


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--pg", help="host:port of a running PostgreSQL (user postgres)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (make test)")
    args = ap.parse_args()
    if args.smoke:
        args.orders, args.rounds = 2_000, 1
    import psycopg

    with server("db", args.pg) as address:
        url = f"postgresql://postgres@{address}/postgres"
        start = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA.replace("%(n)s", str(args.orders)).encode())
        print(f"filled {args.orders:,} orders in {time.perf_counter() - start:.1f} s")
        base, obs = [], []
        for _ in range(args.rounds):  # interleaved, so both see the same machine
            seconds, rows = baseline(url)
            base.append(seconds)
            seconds, orders = observer(url)
            obs.append(seconds)
            assert orders == args.orders, (orders, args.orders)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA bench CASCADE")
    b, o = sorted(base)[len(base) // 2], sorted(obs)[len(obs) // 2]
    print(f"baseline psycopg fetchall of the 3 queries ({rows:,} rows): {b:.2f} s")
    print(f"sql observer observe() {args.orders:,} orders: {o:.2f} s = {o / b:.1f}x baseline "
          f"(medians of {args.rounds}; goal <= 10 s at 1M) -> "
          f"{'ok' if o <= 10 or args.orders < 1_000_000 else 'OVER GOAL'}")


if __name__ == "__main__":
    main()
