"""benchmarks/failover_loss.py with no runs: it still writes the plain-kill variant of
broker-failover and the CLI accepts it, so the measurement does not rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_failover_loss_writes_a_valid_plain_kill_experiment(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "failover_loss.py"), "--runs", "0",
         "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("broker-failover-plain.yaml: ok"), proc.stdout
    doc = yaml.safe_load((tmp_path / "broker-failover-plain.yaml").read_text())
    assert doc["target"] == "reference-local-ha-unsafe"
    assert [f["type"] for f in doc["faults"]] == ["pod.kill"]
