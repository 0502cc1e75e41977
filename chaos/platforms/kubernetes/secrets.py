"""TLS rotation through Secrets: back up, patch with the bad pair, reload; restore copies
the backup back, reloads and deletes it. Only names go to the journal (SecretSwap): key
material never leaves the cluster. The deployment CA is read into memory only.
"""

from __future__ import annotations

import base64
import datetime
import secrets as tokens
import time
from typing import TYPE_CHECKING, Any

from kubernetes import client

from chaos.platforms.base import PlatformError, Pod, SecretSwap
from chaos.platforms.kubernetes import execs
from chaos.platforms.kubernetes import pods as podlib
from chaos.platforms.kubernetes.client import ApiException, reason

if TYPE_CHECKING:
    from chaos.platforms.kubernetes.client import Cluster
    from chaos.spec.models import Component

CA_SECRET = "pipechaos-ca"
BACKUP_LABEL = "pipechaos.io/backup-of"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
RELOAD_TIMEOUT_S = 120.0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def read_ca(cluster: Cluster, namespace: str) -> tuple[bytes, bytes]:
    try:
        obj = cluster.core.read_namespaced_secret(CA_SECRET, namespace)
    except ApiException as exc:
        raise PlatformError(f"deployment CA: secret {namespace}/{CA_SECRET}: {reason(exc)}"
                            ) from None
    data = obj.data or {}
    cert, key = data.get("tls.crt") or data.get("ca.crt"), data.get("tls.key")
    if not cert or not key:
        raise PlatformError(f"secret {namespace}/{CA_SECRET} lacks tls.crt and tls.key")
    return base64.b64decode(cert), base64.b64decode(key)


def rotate(cluster: Cluster, namespace: str, comp: Component, cert_pem: bytes, key_pem: bytes,
           access: dict[str, str]) -> SecretSwap:
    assert comp.tls is not None and comp.tls.secret is not None
    name = comp.tls.secret
    try:
        current = cluster.core.read_namespaced_secret(name, namespace)
    except ApiException as exc:
        raise PlatformError(f"secret {namespace}/{name}: {reason(exc)}") from None
    backup = f"{name}-pipechaos-backup-{tokens.token_hex(4)}"
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name=backup, labels={
            BACKUP_LABEL: name, "app.kubernetes.io/managed-by": "pipechaos"}),
        type=current.type, data=dict(current.data or {}))
    try:
        cluster.core.create_namespaced_secret(namespace, body)
    except ApiException as exc:
        raise PlatformError(f"backup secret {namespace}/{backup}: {reason(exc)}") from None
    swap = SecretSwap(service=comp.name, namespace=namespace, secret=name, backup=backup,
                      reload=comp.tls.reload, workload=comp.workload,
                      selector=dict(comp.labels), container=comp.name, access=dict(access))
    _patch(cluster, namespace, name, {"tls.crt": _b64(cert_pem), "tls.key": _b64(key_pem)})
    reload(cluster, swap, cert_pem)
    return swap


def restore(cluster: Cluster, swap: SecretSwap) -> bool:
    """Copy the backup back, reload, delete the backup; False when there is no backup."""
    try:
        backup = cluster.core.read_namespaced_secret(swap.backup, swap.namespace)
    except ApiException as exc:
        if exc.status == 404:
            return False  # restored already
        raise PlatformError(f"backup secret {swap.backup}: {reason(exc)}") from None
    data: dict[str, str] = dict(backup.data or {})
    _patch(cluster, swap.namespace, swap.secret, data)
    reload(cluster, swap, base64.b64decode(data.get("tls.crt", "")))
    try:
        cluster.core.delete_namespaced_secret(swap.backup, swap.namespace)
    except ApiException as exc:
        if exc.status != 404:
            raise PlatformError(f"delete backup secret {swap.backup}: {reason(exc)}") from None
    return True


def _patch(cluster: Cluster, namespace: str, name: str, data: dict[str, str]) -> None:
    try:
        cluster.core.patch_namespaced_secret(name, namespace, {"data": data})
    except ApiException as exc:
        raise PlatformError(f"patch secret {namespace}/{name}: {reason(exc)}") from None


def reload(cluster: Cluster, swap: SecretSwap, cert_pem: bytes) -> None:
    if swap.reload == "restart":
        _rollout_restart(cluster, swap)
    else:
        _signal_reload(cluster, swap, cert_pem)


def _pods(cluster: Cluster, swap: SecretSwap) -> list[Any]:
    selector = podlib.label_selector(swap.selector)
    objs = cluster.core.list_namespaced_pod(swap.namespace, label_selector=selector).items
    return [o for o in objs if podlib.is_live(o)]


def mount_path(obj: Any, secret: str, container: str | None) -> str | None:
    """Where a pod's container sees the Secret's files."""
    volumes = {v.name for v in obj.spec.volumes or []
               if v.secret is not None and v.secret.secret_name == secret}
    for c in sorted(obj.spec.containers, key=lambda c: c.name != container):
        for mount in c.volume_mounts or []:
            if mount.name in volumes:
                return str(mount.mount_path)
    return None


def _signal_reload(cluster: Cluster, swap: SecretSwap, cert_pem: bytes) -> None:
    """Wait until each pod sees the new files (the kubelet projects them), then SIGHUP."""
    want = cert_pem.decode().strip()
    for obj in _pods(cluster, swap):
        name = obj.metadata.name
        pod = Pod(name=name, component=swap.service, index=0, uid=obj.metadata.uid,
                  namespace=swap.namespace, container=podlib.container_of_name(obj, swap.container))
        path = mount_path(obj, swap.secret, pod.container)
        if path is None:
            raise PlatformError(f"pod {name} does not mount secret {swap.secret}")
        deadline = time.monotonic() + RELOAD_TIMEOUT_S
        while execs.run(cluster, pod, f"cat {path}/tls.crt").strip() != want:
            if time.monotonic() > deadline:
                raise PlatformError(f"pod {name}: {path}/tls.crt not updated after "
                                    f"{RELOAD_TIMEOUT_S:g}s")
            time.sleep(0.3)
        execs.signal_main(cluster, pod, "HUP", "")


def _rollout_restart(cluster: Cluster, swap: SecretSwap) -> None:
    if swap.workload is None:
        raise PlatformError(f"{swap.service}: tls.reload restart needs the component's workload")
    kind, name = swap.workload.split("/", 1)
    now = datetime.datetime.now(datetime.UTC)
    patch = {"spec": {"template": {"metadata": {"annotations": {
        RESTARTED_AT: now.strftime("%Y-%m-%dT%H:%M:%SZ")}}}}}
    patcher = {"Deployment": cluster.apps.patch_namespaced_deployment,
               "StatefulSet": cluster.apps.patch_namespaced_stateful_set}.get(kind)
    if patcher is None:
        raise PlatformError(f"{swap.workload}: rollout restart of a {kind} is not supported")
    try:
        workload = patcher(name, swap.namespace, patch)
    except ApiException as exc:
        raise PlatformError(f"rollout restart {swap.workload}: {reason(exc)}") from None
    replicas = int(workload.spec.replicas or 1)
    deadline = time.monotonic() + RELOAD_TIMEOUT_S
    while time.monotonic() < deadline:
        fresh = [o for o in _pods(cluster, swap)
                 if o.metadata.creation_timestamp >= now.replace(microsecond=0)
                 and podlib.is_ready(o)]
        if len(fresh) >= replicas and len(_pods(cluster, swap)) == replicas:
            return
        time.sleep(0.5)
    raise PlatformError(f"rollout restart {swap.workload}: not Ready after "
                        f"{RELOAD_TIMEOUT_S:g}s")
