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
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaos.checks.observations_file import read_observations
from tests.k8s import helpers
from tests.k8s.double import Cluster
from tests.k8s.double.controllers import is_ready
from tests.k8s.layout import manifests

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("requires_root")]


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


def test_runner_in_a_pod_uses_services_and_the_documented_role(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The runner as a pod (a CronJob's view): `address_mode: auto` is `service` there, so
    the publisher, probes, observer and proxy API go through Service ClusterIPs under the
    run's load; it authenticates with the pod's service account, and every call it makes
    is allowed by the Role of docs/platforms.md (the double records calls, it does not
    enforce RBAC). The first run on this deployment."""
    doc = helpers.target_doc(cluster, "auto")
    del doc["platform"]["settings"]["kubeconfig"]  # in a pod: the service account
    target = tmp_path / "reference-k8s.yaml"
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    run_dir = tmp_path / "run"
    mark = cluster.mark()
    code = run_in_pod(cluster, "payment-cert-expired", target, run_dir)
    result = json.loads((run_dir / "result.json").read_text())
    verdicts = {v["name"]: v["summary"] for v in result.get("verdicts", [])}
    assert code == 0, (result.get("reason"), verdicts)
    assert result["verdicts"] and all(v["ok"] for v in result["verdicts"]), verdicts
    account = f"system:serviceaccount:{helpers.NS}:default"
    calls = [c for c in cluster.calls(since=mark) if c.user == account]
    assert any(c.resource == "secrets" and c.verb == "patch" for c in calls)
    assert outside_the_role(calls) == set()


def run_in_pod(cluster: Cluster, experiment: str, target: Path, run_dir: Path) -> int:
    """`pipechaos run` as a bare Pod of the double (pods share this machine's files);
    its exit code once the pod has ended."""
    name = f"runner-{experiment}"
    command = ["python", "-m", "chaos", "run",
               str(helpers.ROOT / "experiments" / f"{experiment}.yaml"), "--target",
               str(target), "--run-dir", str(run_dir), "--seed", "7"]
    cluster.apply([{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "restartPolicy": "Never", "containers": [{
            "name": "runner", "image": "pipechaos", "command": command,
            "env": [{"name": "PIPECHAOS_LOCK_DIR", "value": str(run_dir.parent / "locks")}],
        }]}}], namespace=helpers.NS)
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        pod = cluster.get("Pod", helpers.NS, name) or {}
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            state = pod["status"]["containerStatuses"][0]["state"]
            return int(state["terminated"]["exitCode"])
        time.sleep(0.5)
    raise AssertionError(f"the runner pod did not end: {cluster.describe()}")


def outside_the_role(calls: list[Any]) -> set[tuple[str, str]]:
    """(resource, verb) of the calls that the documented Role does not allow."""
    used = {(c.resource + (f"/{c.subresource}" if c.subresource else ""), c.verb)
            for c in calls}
    return used - documented_role()


def documented_role() -> set[tuple[str, str]]:
    """(resource, verb) pairs of the Role (and ClusterRole) in docs/platforms.md."""
    text = (helpers.ROOT / "docs" / "platforms.md").read_text()
    block = text.split("A Role for the reference target", 1)[1].split("```yaml", 1)[1]
    block = block.split("```", 1)[0]
    pairs = {(r, v) for rule in yaml.safe_load(block)["rules"]
             for r in rule["resources"] for v in rule["verbs"]}
    return pairs | {("namespaces", "get")}  # the ClusterRole limited by resourceNames


# The first runs on a fresh deployment, the others on one that earlier runs left counters
# (and, after consumer-kill, a StatefulSet pod with its old name and a new UID) in.
@pytest.mark.parametrize(("experiment", "reclaims"), [
    ("consumer-kill", True),
    ("consumer-pause", True),
    ("consumer-redis-partition", True),
])
def test_library_experiment_passes_as_on_the_local_platform(
    cluster: Cluster, tmp_path: Path, experiment: str, reclaims: bool
) -> None:
    target = helpers.write_target(cluster, tmp_path, "direct")
    run_dir = tmp_path / "run"
    mark = cluster.mark()
    code, result, output = run(experiment, target, run_dir)
    verdicts = {v["name"]: v["summary"] for v in result.get("verdicts", [])}
    assert code == 0, (result.get("reason"), verdicts, output)
    assert outside_the_role(cluster.calls(since=mark)) == set()
    assert result["verdicts"] and all(v["ok"] for v in result["verdicts"]), verdicts
    assert result["faults"] and all(
        f["outcome"] == "reverted" and f["verified"] for f in result["faults"])
    observations = json.loads((run_dir / "observations.json").read_text())
    assert observations["settings"]["totals_scope"] == "run"
    assert any(run_dir.joinpath("pods").glob("consumer-*.log"))
    if reclaims:  # the fault left entries pending that only reclaim could finish
        assert redelivered(run_dir) > 0, observations["consumers"]


def test_no_reclaim_control_still_fails_delivery(cluster: Cluster, tmp_path: Path) -> None:
    """The deployment picks its variant (the platform never edits workloads): the test rolls
    the consumer StatefulSet out with `bug: no-reclaim`, as `helm upgrade` with the chart's
    negative-control values would. Every consumer crashes right after reading (a killed
    consumer may hold nothing pending), so its entries stay pending and only reclaim, which
    this variant lacks, could recover them. Last in the module: it leaves the bug deployed."""
    sts = [d for d in manifests(bug="no-reclaim")
           if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "consumer"]
    cluster.apply(sts, namespace=helpers.NS)
    wait_for_variant(cluster, "no-reclaim", 3)
    target = helpers.write_target(cluster, tmp_path, "direct")
    code, result, output = run("consumer-crash-before-effects", target, tmp_path / "run")
    failing = [v["name"] for v in result.get("verdicts", []) if not v["ok"]]
    assert code == 1 and result["status"] == "failed", (result.get("reason"), output)
    assert "delivery" in failing, result.get("verdicts")


def wait_for_variant(cluster: Cluster, bug: str, replicas: int, timeout: float = 180) -> None:
    """Every consumer pod is a Ready one of the rolled-out template."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = [p for p in cluster.list("Pod", helpers.NS, selector={"app": "consumer"})
                if not p["metadata"].get("deletionTimestamp")]
        variant = [p for p in pods if is_ready(p) and json.loads(
            p["spec"]["containers"][0]["env"][0]["value"]).get("bug") == bug]
        if len(pods) == replicas == len(variant):
            return
        time.sleep(0.5)
    raise AssertionError(f"consumers not rolled out to bug {bug}: {cluster.describe()}")
