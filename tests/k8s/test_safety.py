"""Refused namespaces: `pipechaos run` exits 2 and the cluster double sees no write.
The allow-list and system namespaces are refused offline (validate); the opt-in label
needs one GET of the namespace, before anything else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.k8s import helpers
from tests.k8s.double import Cluster

pytestmark = pytest.mark.usefixtures("requires_root")


def _experiment(folder: Path, target: Path, allowed: list[str]) -> Path:
    doc = {
        "apiVersion": "pipechaos/v1", "kind": "Experiment", "metadata": {"name": "gate"},
        "target": str(target), "load": "none", "timing": {"duration": "2s"},
        "faults": [{"type": "pod.kill", "at": "1s", "selector": {"tier": "worker"}}],
        "safety": {"allowed_namespaces": allowed, "max_pods": 1},
    }
    path = folder / "gate.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _run(experiment: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIPECHAOS_LOCK_DIR": str(folder / "locks")}
    return subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(experiment), "--run-dir", str(folder / "run")],
        cwd=helpers.ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("namespace", "allowed", "label", "says"), [
    ("kube-system", ["kube-system"], True, "system namespace"),
    ("staging", ["production"], True, "not allowed here"),
    ("nolabel", ["nolabel"], False, "has not opted in: label it pipechaos.io/chaos=enabled"),
])
def test_refused_before_any_write(k8s_double: Cluster, tmp_path: Path, namespace: str,
                                  allowed: list[str], label: bool, says: str) -> None:
    if namespace != "kube-system":
        k8s_double.create_namespace(namespace, labels=helpers.OPT_IN if label else {})
    target = helpers.write_target(k8s_double, tmp_path, namespace=namespace)
    mark = k8s_double.mark()
    proc = _run(_experiment(tmp_path, target, allowed), tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stdout + proc.stderr
    assert k8s_double.writes(since=mark) == []
    calls = k8s_double.calls(since=mark)
    assert all(c.resource == "namespaces" and c.verb == "get" for c in calls)


def test_label_waiver_passes_the_gate(k8s_double: Cluster, tmp_path: Path) -> None:
    """require_namespace_label: false skips the GET; the run then fails to find the pipeline
    (exit 3), which proves the gate let it through."""
    k8s_double.create_namespace("bare")
    target = helpers.write_target(k8s_double, tmp_path, namespace="bare",
                                  require_namespace_label=False)
    doc = yaml.safe_load(target.read_text())
    for comp in doc["components"]:
        comp["ready"]["timeout"] = "1s"
    target.write_text(yaml.safe_dump(doc))
    mark = k8s_double.mark()
    proc = _run(_experiment(tmp_path, target, ["bare"]), tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "component redis" in proc.stdout + proc.stderr
    assert k8s_double.writes(since=mark) == []
