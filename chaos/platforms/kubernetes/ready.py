"""up(): each component exists (its workload, when named) with its replicas Ready."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from chaos.platforms.base import PlatformError
from chaos.platforms.kubernetes import pods as podlib
from chaos.platforms.kubernetes.client import ApiException, reason

if TYPE_CHECKING:
    from chaos.platforms.kubernetes.client import Cluster
    from chaos.spec.models import Component

_READERS = {"Deployment": "read_namespaced_deployment",
            "StatefulSet": "read_namespaced_stateful_set",
            "DaemonSet": "read_namespaced_daemon_set",
            "ReplicaSet": "read_namespaced_replica_set"}


def check_workload(cluster: Cluster, namespace: str, component: Component) -> None:
    if component.workload is None:
        return
    kind, name = component.workload.split("/", 1)
    try:
        getattr(cluster.apps, _READERS[kind])(name, namespace)
    except ApiException as exc:
        what = "not found" if exc.status == 404 else reason(exc)
        raise PlatformError(f"component {component.name}: {kind} {namespace}/{name} {what}"
                            ) from None


def wait_ready(cluster: Cluster, namespace: str, component: Component, timeout_s: float) -> None:
    """Return once `replicas` live pods matching the component's labels are Ready."""
    check_workload(cluster, namespace, component)
    selector = podlib.label_selector(component.labels)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            objs = cluster.core.list_namespaced_pod(namespace, label_selector=selector).items
        except ApiException as exc:
            raise PlatformError(f"component {component.name}: list pods: {reason(exc)}"
                                ) from None
        live = [o for o in objs if podlib.is_live(o)]
        ready = [o for o in live if podlib.is_ready(o)]
        if len(ready) >= component.replicas:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if not live:
        raise PlatformError(f"component {component.name}: no pod matches {selector} in "
                            f"namespace {namespace}")
    waiting = sorted(o.metadata.name for o in live if not podlib.is_ready(o))
    raise PlatformError(
        f"component {component.name}: {len(ready)} of {component.replicas} pods Ready after "
        f"{timeout_s:g}s" + (f" (not ready: {', '.join(waiting)})" if waiting else "")
    )
