"""benchmarks/load_distributed.py at a tiny size: it runs both modes to the end and prints
the distributed ratio beside its single-process baseline (the figures are noise here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.system import ROOT


@pytest.mark.timeout(240)
def test_load_distributed_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "load_distributed.py"), "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "1 process (baseline)" in proc.stdout and "master + 2 workers" in proc.stdout
    assert "distributed achieved/scheduled" in proc.stdout, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
