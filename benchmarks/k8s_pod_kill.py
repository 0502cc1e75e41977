"""Kubernetes platform: API calls per pod-kill occurrence and the time from apply to a
verified replacement, on the cluster double (tests/k8s/double; needs root).

Each round kills one consumer (a StatefulSet pod) as `pod.kill` does: list the victims by
selector, delete, watch until the victim's UID is gone and a Ready pod took its place.
Baseline, in the same run: the double's own replacement time for a pod deleted with a raw
client call and polled in its store (what no platform can beat); the platform's time is
reported as a ratio of it. Goal: at most 3 writes or lists plus 1 watch per kill.

    .venv/bin/python benchmarks/k8s_pod_kill.py [--kills 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SELECTOR = {"app": "consumer"}


def _baseline(cluster: Any, namespace: str, name: str, timeout: float = 120.0) -> float:
    """Delete with the raw client, poll the store until a Ready pod of that name is back."""
    from kubernetes import client, config

    old = cluster.get("Pod", namespace, name)["metadata"]["uid"]
    api = client.CoreV1Api(config.new_client_from_config(str(cluster.kubeconfig)))
    start = time.monotonic()
    api.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    while time.monotonic() - start < timeout:
        pod = cluster.get("Pod", namespace, name)
        conditions = (pod or {}).get("status", {}).get("conditions", [])
        if pod and pod["metadata"]["uid"] != old and any(
                c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            return time.monotonic() - start
        time.sleep(0.02)
    raise RuntimeError(f"baseline: {name} not back within {timeout}s")


def measure(cluster: Any, platform: Any, kills: int, namespace: str) -> dict[str, Any]:
    """Kill `kills` consumers through the platform; calls and times per kill."""
    times, baseline, per_kill = [], [], []
    for i in range(kills):
        mark = cluster.mark()
        start = time.monotonic()
        pods = platform.pods(SELECTOR)
        victim = pods[i % len(pods)]
        platform.kill(victim, "KILL", 0)
        platform.wait_replacement(victim, 120)
        times.append(time.monotonic() - start)
        calls = [c for c in cluster.calls(since=mark) if c.subresource != "portforward"]
        per_kill.append({
            "writes_or_lists": sum(1 for c in calls if c.verb != "watch" and c.verb != "get"),
            "watches": sum(1 for c in calls if c.verb == "watch"),
            "gets": sum(1 for c in calls if c.verb == "get"),
            "calls": [f"{c.verb} {c.resource}" for c in calls],
        })
        baseline.append(_baseline(cluster, namespace, pods[(i + 1) % len(pods)].name))
    worst = max(per_kill, key=lambda k: k["writes_or_lists"] + k["watches"])
    return {
        "kills": kills,
        "writes_or_lists_per_kill": max(k["writes_or_lists"] for k in per_kill),
        "watches_per_kill": max(k["watches"] for k in per_kill),
        "calls_of_worst_kill": worst["calls"],
        "apply_to_verified_s": {"median": statistics.median(times), "max": max(times)},
        "baseline_replacement_s": {"median": statistics.median(baseline)},
        "ratio_to_baseline": statistics.median(times) / statistics.median(baseline),
        "goal_met": all(k["writes_or_lists"] <= 3 and k["watches"] <= 1 for k in per_kill),
    }


def main() -> int:
    from chaos.platforms.kubernetes import KubernetesPlatform
    from tests.k8s import helpers
    from tests.k8s.double import Cluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Cluster.start(Path(tmp) / "cluster") as cluster:
        helpers.deploy(cluster)
        platform = KubernetesPlatform(helpers.target(cluster), Path(tmp) / "run", None)
        platform.up()
        try:
            result = measure(cluster, platform, args.kills, helpers.NS)
        finally:
            platform.down()
    print(json.dumps(result, indent=2))
    return 0 if result["goal_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
