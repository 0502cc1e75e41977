"""`make demo` as a user runs it: the default run directory (relative runs/<id>), from
another working directory than the project's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.runner import ROOT


@pytest.mark.e2e
def test_demo_experiment_with_the_default_run_directory(tmp_path: Path) -> None:
    env = {**os.environ, "PIPECHAOS_LOCK_DIR": str(tmp_path / "locks")}
    env.pop("PIPECHAOS_REF_BUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(ROOT / "experiments" / "consumer-kill.yaml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=150,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "passed"
    assert "delivery" in output and str(run_dir.name) in output
