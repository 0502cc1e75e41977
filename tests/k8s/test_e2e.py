"""End to end on the cluster double: `pipechaos run` of library experiments, unchanged,
against targets/reference-k8s.yaml gives the verdicts they give on the local platform, and
the no-reclaim control still fails `delivery`.

Every experiment runs back to back on one deployment, so each also proves run-scoped
totals: a run's checks see only its own changes to the deployment's counters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chaos.checks.observations_file import read_observations
from tests.k8s import helpers
from tests.k8s.double import Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("requires_root")]

BUG_NS = "pipechaos-bug"


@pytest.fixture(scope="module")
def cluster(k8s_double_module: Cluster) -> Cluster:
    helpers.deploy(k8s_double_module)
    return k8s_double_module


def run(experiment: str, target: Path, run_dir: Path) -> tuple[int, dict[str, Any], str]:
    """`pipechaos run` of a library experiment against `target`: exit code, result, output."""
    env = {**os.environ, "PIPECHAOS_LOCK_DIR": str(run_dir.parent / "locks")}
    env.pop("PIPECHAOS_REF_BUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(helpers.ROOT / "experiments" /
                                                   f"{experiment}.yaml"),
         "--target", str(target), "--run-dir", str(run_dir), "--seed", "7"],
        cwd=helpers.ROOT, env=env, capture_output=True, text=True, timeout=400, check=False)
    result_file = run_dir / "result.json"
    result = json.loads(result_file.read_text()) if result_file.is_file() else {}
    return proc.returncode, result, (proc.stdout + proc.stderr)[-3000:]


def redelivered(run_dir: Path) -> int:
    """Orders of this run delivered more than once: the run reached reclaim."""
    return int((read_observations(run_dir / "observations.json").redeliveries > 0).sum())


# The first runs on a fresh deployment, the others on one that earlier runs left counters
# (and, after consumer-kill, a StatefulSet pod with its old name and a new UID) in.
@pytest.mark.parametrize(("experiment", "reclaims"), [
    ("payment-cert-expired", False),
    ("consumer-kill", True),
    ("consumer-pause", True),
    ("consumer-redis-partition", True),
])
def test_library_experiment_passes_as_on_the_local_platform(
    cluster: Cluster, tmp_path: Path, experiment: str, reclaims: bool
) -> None:
    target = helpers.write_target(cluster, tmp_path, "direct")
    run_dir = tmp_path / "run"
    code, result, output = run(experiment, target, run_dir)
    verdicts = {v["name"]: v["summary"] for v in result.get("verdicts", [])}
    assert code == 0, (result.get("reason"), verdicts, output)
    assert result["verdicts"] and all(v["ok"] for v in result["verdicts"]), verdicts
    assert result["faults"] and all(
        f["outcome"] == "reverted" and f["verified"] for f in result["faults"])
    observations = json.loads((run_dir / "observations.json").read_text())
    assert observations["settings"]["totals_scope"] == "run"
    assert any(run_dir.joinpath("pods").glob("consumer-*.log"))
    if reclaims:  # the fault left entries pending that only reclaim could finish
        assert redelivered(run_dir) > 0, observations["consumers"]


def test_no_reclaim_control_still_fails_delivery(cluster: Cluster, tmp_path: Path) -> None:
    """The deployment picks its variant (the platform never edits workloads): the same
    layout with `bug: no-reclaim` in a second namespace. Every consumer crashes right after
    reading (a killed consumer may hold nothing pending), so its entries stay pending and
    only reclaim, which this variant lacks, could recover them."""
    helpers.deploy(cluster, BUG_NS, bug="no-reclaim")
    target = helpers.write_target(cluster, tmp_path, "direct", namespace=BUG_NS)
    code, result, output = run("consumer-crash-before-effects", target, tmp_path / "run")
    failing = [v["name"] for v in result.get("verdicts", []) if not v["ok"]]
    assert code == 1 and result["status"] == "failed", (result.get("reason"), output)
    assert "delivery" in failing, result.get("verdicts")
