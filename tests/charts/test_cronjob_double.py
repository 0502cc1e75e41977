"""The rendered charts, deployed in the Kubernetes cluster double (tests/k8s/double): the
reference chart's pods come up Ready, and the runner's CronJob pod (its command, ConfigMaps,
ServiceAccount) runs consumer-kill to exit 0, using only API calls its rendered Role allows.

The double serves no batch/RBAC/NetworkPolicy kinds: the CronJob's pod template runs as a
Pod, and the Role is checked against the requests the double recorded from the runner's
service account. The double runs commands on this machine (images are not run) and ignores
workingDir, so the pods' cwd is a scratch root whose `chaos` and `targets` link to the
repository."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.charts.render import NAMESPACE, find, one, render
from tests.system import ROOT, require_package

pytestmark = pytest.mark.e2e
SERVED = {"Service", "Secret", "ConfigMap", "Deployment", "StatefulSet", "ServiceAccount",
          "PersistentVolumeClaim"}


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if os.geteuid() != 0:
        pytest.skip("needs root: pods of the cluster double run in their own namespaces")
    require_package("tini", why="the charts' init, run by the cluster double's pods")
    from tests.k8s.double import Cluster

    # the charts mount an emptyDir at /tmp; the double keeps the checkout, its venv and the
    # volume sources visible under it (tests/k8s/double/runtime.py), wherever they live
    work = Path(tempfile.mkdtemp(prefix="pipechaos-charts-"))
    try:
        root = work / "root"
        root.mkdir()
        for name in ("chaos", "targets"):
            (root / name).symlink_to(ROOT / name)
        # `python` and `pipechaos` in the pods' commands: this interpreter's environment
        monkeypatch.setenv("PATH",
                           f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        with Cluster.start(work / "cluster", root=root) as c:
            yield c
    finally:
        shutil.rmtree(work, ignore_errors=True)


def allowed(rules: list[dict[str, Any]], verb: str, resource: str, name: str) -> bool:
    return any(resource in r["resources"] and verb in r["verbs"]
               and name in r.get("resourceNames", [name]) for r in rules)


def test_cronjob_command_completes_consumer_kill_within_its_role(cluster: Any) -> None:
    reference = render("pipechaos-reference", "default")
    runner = render("pipechaos", "default")
    cluster.create_namespace(NAMESPACE, labels={"pipechaos.io/chaos": "enabled"})
    cluster.apply([d for d in reference if d["kind"] in SERVED], namespace=NAMESPACE)
    cluster.wait_ready(NAMESPACE, timeout=180)
    cluster.apply([d for d in runner if d["kind"] in SERVED], namespace=NAMESPACE)
    (cronjob,) = find(runner, "CronJob")
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    mark = cluster.mark()
    cluster.apply([{"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "consumer-kill-run", **template["metadata"]},
                    "spec": template["spec"]}], namespace=NAMESPACE)
    deadline = time.monotonic() + 240
    phase = None
    while time.monotonic() < deadline:
        pod = cluster.get("Pod", NAMESPACE, "consumer-kill-run")
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            break
        time.sleep(1)
    log_dir = cluster.log_dir(NAMESPACE, "consumer-kill-run")
    log = "".join(p.read_text(errors="replace") for p in sorted(log_dir.glob("*.log"))) \
        if log_dir else ""
    assert phase == "Succeeded", f"phase {phase}: {log[-3000:]}"
    assert "delivery" in log  # the verdict table is the Job's log
    account = f"system:serviceaccount:{NAMESPACE}:t-runner"
    mine = [r for r in cluster.calls(since=mark) if r.user == account]
    assert any(r.verb == "delete" and r.resource == "pods" for r in mine)  # it did kill
    role = one(runner, "Role", "t-runner")["rules"]
    cluster_role = find(runner, "ClusterRole")[0]["rules"]
    for r in mine:
        resource = f"{r.resource}/{r.subresource}" if r.subresource else r.resource
        rules = cluster_role if r.resource == "namespaces" else role
        assert allowed(rules, r.verb, resource, r.name), f"not in the Role: {r}"
