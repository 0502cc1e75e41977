"""SIGKILL the runner during a pause and during a certificate rotation on the cluster
double, then `pipechaos rollback` from the journal alone: the pod is continued, the Secret
restored and its backup gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaos.run import journal
from tests.k8s import helpers
from tests.k8s.double import Cluster

pytestmark = pytest.mark.usefixtures("requires_root")
EXTRA = {"name": "extra-broker", "listen": "0.0.0.0:16390", "upstream": "${component:redis/redis}"}


@pytest.fixture(scope="module")
def cluster(k8s_double_module: Cluster) -> Cluster:
    helpers.deploy(k8s_double_module)
    return k8s_double_module


def _start(folder: Path, target: Path, *faults: dict[str, Any]
           ) -> tuple[subprocess.Popen[str], Path]:
    doc = {"apiVersion": "pipechaos/v1", "kind": "Experiment", "metadata": {"name": "held"},
           "target": str(target), "load": "none", "timing": {"duration": "60s"},
           "faults": [{"at": "1s", "duration": "50s", **fault} for fault in faults]}
    exp = folder / "held.yaml"
    exp.write_text(yaml.safe_dump(doc))
    run_dir = folder / "run"
    env = {**os.environ, "PIPECHAOS_LOCK_DIR": str(folder / "locks")}
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", str(exp), "--run-dir",
                             str(run_dir)], cwd=helpers.ROOT, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, run_dir


def _wait_state(proc: subprocess.Popen[str], run_dir: Path, state: str, timeout: float,
                fault: str | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    path = run_dir / "journal.jsonl"
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended early ({proc.returncode})"
        if path.is_file():
            records: dict[str, Any] = {}
            types: dict[str, str] = {}
            for entry in journal.read(path):
                if entry.get("event") != "action":
                    continue
                types.setdefault(entry["id"], str(entry.get("fault")))
                if entry.get("record"):  # applying, and applied when apply() changed it
                    records[entry["id"]] = entry["record"]
                if entry.get("state") == state and fault in (None, types[entry["id"]]):
                    return {**entry, "record": records.get(entry["id"])}
        time.sleep(0.2)
    raise AssertionError(f"no action reached {state} within {timeout}s")


def _kill_and_rollback(proc: subprocess.Popen[str], run_dir: Path) -> list[dict[str, Any]]:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    out = subprocess.run([sys.executable, "-m", "chaos", "rollback", str(run_dir), "--json"],
                         cwd=helpers.ROOT, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    report: list[dict[str, Any]] = json.loads(out.stdout)
    return report


def test_rollback_continues_a_paused_pod(cluster: Cluster, tmp_path: Path) -> None:
    """Also, in the same run: a proxy the run created (the deployment did not preload it) is
    deleted by the rollback, and a toxic the run added is removed, both through a
    port-forward of the rollback's own (the run's died with it); preloaded proxies stay."""
    target = helpers.write_target(cluster, tmp_path)
    doc = yaml.safe_load(target.read_text())
    doc["proxies"].append(EXTRA)
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    proc, run_dir = _start(tmp_path, target, {"type": "pod.pause",
                                              "selector": {"app": "consumer"}},
                           {"type": "network.latency", "proxy": "producer-broker",
                            "latency": "100ms"})
    try:
        _wait_state(proc, run_dir, "verified", 90, "network.latency")
        entry = _wait_state(proc, run_dir, "verified", 90, "pod.pause")
    finally:
        if proc.poll() is None:
            proc.kill()  # SIGKILL: the runner dies with the fault applied
    record = entry.get("record") or {}
    assert record.get("namespace") == helpers.NS and record.get("container") == "consumer"
    assert str(record.get("pod")).startswith("consumer-") and record.get("uid")
    # read the state as verify does, without a run (the paused pod is not Ready)
    from chaos.faults.pod import pod_from
    from chaos.platforms.kubernetes import execs
    from chaos.platforms.kubernetes.client import connect
    from chaos.platforms.kubernetes.settings import parse

    pod = pod_from(record)
    api = connect(parse(helpers.target(cluster)))
    try:
        assert execs.main_process(api, pod)[1] == "T"  # the dead run left it stopped
        assert helpers.proxy_toxics(cluster, "producer-broker")  # the dead run left them
        assert EXTRA["name"] in helpers.proxy_names(cluster)
        report = _kill_and_rollback(proc, run_dir)
        assert execs.main_process(api, pod)[1] != "T"
    finally:
        api.close()
    assert any(EXTRA["name"] in d for r in report for d in r["deleted_proxies"]), report
    assert len(report[0]["reverted"]) == 2 and report[0]["failed"] == [], report
    names = helpers.proxy_names(cluster)
    assert EXTRA["name"] not in names and "consumer-0-broker" in names
    assert helpers.proxy_toxics(cluster, "producer-broker") == []


def test_rollback_restores_a_rotated_secret(cluster: Cluster, tmp_path: Path) -> None:
    before = cluster.get("Secret", helpers.NS, "payment-tls")
    assert before is not None
    target = helpers.write_target(cluster, tmp_path)
    proc, run_dir = _start(tmp_path, target, {"type": "tls.expired-cert", "service": "payment",
                                              "verify_within": "30s"})
    try:
        entry = _wait_state(proc, run_dir, "applied", 120)
    finally:
        if proc.poll() is None:
            proc.kill()
    swap = (entry.get("record") or {}).get("swap") or {}
    assert swap.get("kind") == "secret" and swap.get("backup")
    text = json.dumps(entry)
    assert "PRIVATE KEY" not in text  # names only: no key material in the journal
    assert cluster.get("Secret", helpers.NS, swap["backup"]) is not None
    _kill_and_rollback(proc, run_dir)
    after = cluster.get("Secret", helpers.NS, "payment-tls")
    assert after is not None and after["data"] == before["data"]
    assert cluster.get("Secret", helpers.NS, swap["backup"]) is None
