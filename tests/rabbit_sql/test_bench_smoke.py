"""The own-pipeline benchmarks at a tiny size (`--smoke`) against this directory's shared
servers, so none of them rots and nothing boots twice (tests/benchmarks/test_smoke.py lists
them as smoke-run elsewhere)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from chaos.platforms.local import LocalPlatform
from tests.system import ROOT


@pytest.mark.parametrize(("name", "flag", "port", "expect"), [
    ("sql_observer_bench.py", "--pg", "${component:db/pg}", "sql observer observe() 2,000 orders"),
    ("rabbitmq_rate.py", "--amqp", "${component:broker/amqp}", "(goal >= 0.97 at 1,000/s)"),
])
def test_smoke(servers: LocalPlatform, name: str, flag: str, port: str, expect: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / name), "--smoke", flag, servers.resolve(port)],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=180,
        stdin=subprocess.DEVNULL,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert expect in proc.stdout and "Traceback" not in out, out[-3000:]
