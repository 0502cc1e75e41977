"""The `consumers` section of observations.json: what the reference consumers counted of
their rarely-run paths (targets/reference/counters.py), per pod and summed: redis error
paths, graceful stops, TLS failures by kind, compensation calls per service.

Pure: from the raw hash (pod name -> JSON) to the section, so it is tested without redis.
Scope is the deployment, like `totals`: a pod's counts cover its whole life.
"""

from __future__ import annotations

from typing import Any

from chaos.observers.pod_documents import pod_documents

SHUTDOWN = ("in_flight", "finished", "released")


def _numbers(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(k): int(v) for k, v in value.items()
            if isinstance(v, int) and not isinstance(v, bool)}


def _add(total: dict[str, int], counts: dict[str, int]) -> None:
    for key, value in counts.items():
        total[key] = total.get(key, 0) + value


def consumer_counts(raw: dict[str, str]) -> dict[str, Any]:
    """{scope, pods: {name: {paths, shutdown, tls, compensation}}, paths: {path: {errors,
    recoveries}}, shutdown: {in_flight, finished, released}, tls: {kind: failed calls},
    compensation: {service: {calls, failures}}}; an unreadable pod entry is skipped."""
    pods: dict[str, Any] = {}
    paths: dict[str, dict[str, int]] = {}
    shutdown = dict.fromkeys(SHUTDOWN, 0)
    tls: dict[str, int] = {}
    compensation: dict[str, dict[str, int]] = {}
    for name, doc in pod_documents(raw).items():
        pod_paths = {str(p): _numbers(c) for p, c in (doc.get("paths") or {}).items()}
        pod_shutdown = _numbers(doc.get("shutdown"))
        pod_tls = _numbers(doc.get("tls"))
        pod_undo = {str(s): _numbers(c) for s, c in (doc.get("compensation") or {}).items()}
        pods[name] = {"paths": pod_paths, "shutdown": pod_shutdown, "tls": pod_tls,
                      "compensation": pod_undo}
        for path, counts in pod_paths.items():
            _add(paths.setdefault(path, {"errors": 0, "recoveries": 0}), counts)
        for key in SHUTDOWN:
            shutdown[key] += pod_shutdown.get(key, 0)
        _add(tls, pod_tls)
        for service, counts in pod_undo.items():
            _add(compensation.setdefault(service, {"calls": 0, "failures": 0}), counts)
    return {"scope": "deployment", "pods": pods, "paths": paths, "shutdown": shutdown,
            "tls": tls, "compensation": compensation}
