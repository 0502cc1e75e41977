"""End to end on the cluster double: `pipechaos run` of a library experiment, unchanged,
against targets/reference-k8s.yaml gives the verdicts it gives on the local platform."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.k8s import helpers
from tests.k8s.double import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("requires_root")]


@pytest.fixture(scope="module")
def cluster(k8s_double_module: Cluster) -> Cluster:
    helpers.deploy(k8s_double_module, pod_dns=True)
    return k8s_double_module


# Run twice on one deployment: back-to-back runs both pass because checks see only this
# run's totals. (consumer-kill and consumer-pause are not here yet: on the double their
# saga verdict failed in 2 of 3 runs with "completed without every step exactly once";
# see docs/platforms.md, Known limits.)
@pytest.mark.parametrize("experiment", ["payment-cert-expired", "payment-cert-expired"])
def test_library_experiment_passes_as_on_the_local_platform(
    cluster: Cluster, tmp_path: Path, experiment: str
) -> None:
    target = helpers.write_target(cluster, tmp_path, "direct")
    run_dir = tmp_path / "run"
    env = {**os.environ, "PIPECHAOS_LOCK_DIR": str(tmp_path / "locks")}
    proc = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(helpers.ROOT / "experiments" /
                                                   f"{experiment}.yaml"),
         "--target", str(target), "--run-dir", str(run_dir)],
        cwd=helpers.ROOT, env=env, capture_output=True, text=True, timeout=400, check=False)
    result = json.loads((run_dir / "result.json").read_text())
    assert proc.returncode == 0, (result["reason"], proc.stdout[-2000:])
    assert result["verdicts"] and all(v["ok"] for v in result["verdicts"]), result["verdicts"]
    assert result["faults"] and all(
        f["outcome"] == "reverted" and f["verified"] for f in result["faults"])
    observations = json.loads((run_dir / "observations.json").read_text())
    assert observations["settings"]["totals_scope"] == "run"
    assert any(run_dir.joinpath("pods").glob("consumer-*.log"))
