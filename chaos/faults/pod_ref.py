"""A pod fault's victim as a journal record, and what the faults ask about it: is the very
process (pid, or UID on a cluster) still there, and how to name it in a description.

The record holds enough for `pipechaos rollback` to find the pod again without a run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaos.faults.base import FaultNotEffective
from chaos.platforms.base import PlatformError, Pod

if TYPE_CHECKING:
    from chaos.platforms.base import Platform


def process_state(pid: int) -> str:
    """State letter from /proc/<pid>/stat; '' when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def gone(pid: int | None) -> bool:
    return pid is None or process_state(pid) in ("", "Z", "X")


def pod_record(pod: Pod) -> dict[str, Any]:
    """Journal form: enough to find the pod again without a run (pid, or namespace, name,
    UID, container and how to reach its platform)."""
    record: dict[str, Any] = {"pod": pod.name, "component": pod.component, "index": pod.index,
                              "labels": dict(pod.labels), "pid": pod.pid}
    for key in ("uid", "namespace", "container"):
        if getattr(pod, key) is not None:
            record[key] = getattr(pod, key)
    if pod.access:
        record["access"] = dict(pod.access)
    if pod.restarts:
        record["restarts"] = pod.restarts
    return record


def pod_from(record: dict[str, Any]) -> Pod:
    pid = record.get("pid")

    def text(key: str) -> str | None:
        value = record.get(key)
        return str(value) if value is not None else None

    return Pod(name=str(record["pod"]), component=str(record["component"]),
               index=int(record["index"]), labels=dict(record.get("labels") or {}),
               pid=pid if isinstance(pid, int) else None, uid=text("uid"),
               namespace=text("namespace"), container=text("container"),
               access={str(k): str(v) for k, v in (record.get("access") or {}).items()},
               restarts=int(record.get("restarts") or 0))


def alive(platform: Platform, pod: Pod) -> bool:
    """The very pod (same pid, or same UID) still runs."""
    if pod.pid is not None:
        return not gone(pod.pid)
    try:
        return any(p.uid == pod.uid and p.restarts == pod.restarts
                   for p in platform.pods({"component": pod.component}))
    except PlatformError:
        return False


def ident(pod: Pod) -> str:
    """`pid 123` locally, `uid 1a2b3c4d` on a cluster."""
    return f"pid {pod.pid}" if pod.pid is not None else f"uid {(pod.uid or '?')[:8]}"


def need_platform(platform: Platform | None, what: str) -> Platform:
    if platform is None:
        raise FaultNotEffective(f"{what}: needs a running platform (restored from a record)")
    return platform

