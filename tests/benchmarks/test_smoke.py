"""Every benchmark runs at a tiny size (`--smoke`), so one that rots fails `make test`.

Only that it runs to the end and prints its figures is checked: at these sizes the ratios
are noise. The runs have no redis-server on PATH, as on a fresh machine.
benchmarks/checker_bench.py and load_distributed.py are left out here: each has its own
smoke test (test_load_distributed_smoke.py for the latter).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.system import ROOT, path_without

# benchmark -> a line fragment its output has once it measured everything
EXPECT = {
    "cli_startup.py": "pipechaos validate, core only",
    "history_bench.py": "read_history 4,000",
    "load_rate.py": "achieved/s",
    "pipeline_bench.py": "goal >= 200 orders/s through proxies",
    "proxy_bench.py": "latency 100ms: added p50/p99 ms",
}
# Smoke-run elsewhere: tests/benchmarks/test_*_smoke.py; k8s_pod_kill: tests/k8s/test_platform.py;
# the RabbitMQ / PostgreSQL ones on the shared servers: tests/rabbit_sql/test_bench_smoke.py
OWN_SMOKE = {
    "checker_bench.py", "load_distributed.py", "report_bench.py", "k8s_pod_kill.py",
    "sql_observer_bench.py", "rabbitmq_rate.py", "failover_loss.py",
}
BENCHMARKS = sorted(p.name for p in (ROOT / "benchmarks").glob("[!_]*.py"))


def test_every_benchmark_has_a_smoke_run() -> None:
    assert sorted(set(BENCHMARKS) - OWN_SMOKE) == sorted(EXPECT), (
        "add the new benchmark (with a --smoke flag) to EXPECT"
    )


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_smoke(name: str, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": path_without("redis-server", tmp_path / "path"),
           "PIPECHAOS_LOCK_DIR": str(tmp_path / "locks")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / name), "--smoke"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert EXPECT[name] in proc.stdout, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
