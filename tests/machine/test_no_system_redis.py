"""Redis-backed tests pass on a machine without redis installed (CI has no other guard for
that: its machine may well have one). A few of them run again in a subprocess whose PATH has
no redis-server, and no test or benchmark may look redis-server up on PATH itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.system import ROOT, path_without

# one test per way a test reaches redis: the load fixture, the proxy-fault fixture, the
# reference broker pod (tests/pipeline/harness.py)
SUBSET = [
    "tests/load/test_redis_stream.py::test_ok_writes_contract_fields",
    "tests/proxy/test_faults.py::test_partition_modes[refuse]",
    "tests/pipeline/test_probes.py::test_lag_pending_dlq_follow_the_stream",
]


def test_redis_tests_pass_without_redis_server_on_path(tmp_path: Path) -> None:
    path = path_without("redis-server", tmp_path / "path")
    env = {**os.environ, "PATH": path, "PYTHONPATH": str(ROOT)}
    found = subprocess.run(["sh", "-c", "command -v redis-server || true"], env=env,
                           capture_output=True, text=True).stdout.strip()
    assert found == "", f"redis-server still on PATH: {found}"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUBSET],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    tail = "\n".join(proc.stdout.splitlines()[-15:])
    assert proc.returncode == 0, tail
    assert re.search(rf"\b{len(SUBSET)} passed\b", proc.stdout), tail


def test_nothing_looks_redis_server_up_on_path() -> None:
    """Finding redis is targets/reference/broker.py's job (used by tests/redisproc.py)."""
    pattern = re.compile(r"""which\(\s*["']redis-server["']""")
    offenders = [
        str(p.relative_to(ROOT))
        for d in ("tests", "benchmarks", "chaos")
        for p in (ROOT / d).rglob("*.py")
        if pattern.search(p.read_text(errors="replace"))
    ]
    assert offenders == [], f"use tests/redisproc.py (the product's finder): {offenders}"
