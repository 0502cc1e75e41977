"""A tiny run of benchmarks/report_bench.py: the synthetic run directory renders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_report_bench_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "report_bench.py"), "--minutes", "0.5",
         "--rate", "200", "--no-real"],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout[: proc.stdout.rindex("}") + 1])
    synthetic = report["synthetic"]
    assert synthetic["problems"] == []
    assert set(synthetic["sizes"]) == {"report.html", "junit.xml", "summary.md"}
    assert 10_000 < synthetic["sizes"]["report.html"] < 2_000_000
    assert "synthetic:" in proc.stdout
