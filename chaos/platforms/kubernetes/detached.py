"""Revert from journal records alone (`pipechaos rollback`): connect again with the
record's access map, continue a paused pod, restore a rotated Secret, delete the proxies
a run created (through the recorded address mode: a port-forward is opened anew)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from chaos.platforms.base import PlatformError, Pod, SecretSwap
from chaos.platforms.kubernetes.client import ApiException, connect, reason
from chaos.platforms.kubernetes.settings import Settings

if TYPE_CHECKING:
    from chaos.platforms.kubernetes.client import Cluster


def same_pod(cluster: Cluster, pod: Pod) -> bool:
    """The pod still exists with the recorded UID (not a replacement of the same name)."""
    try:
        obj = cluster.core.read_namespaced_pod(pod.name, pod.namespace)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise PlatformError(f"pod {pod.name}: {reason(exc)}") from None
    return pod.uid is None or obj.metadata.uid == pod.uid


class DetachedCluster:
    def __init__(self, access: dict[str, str]) -> None:
        self.settings = Settings(
            namespace=access.get("namespace", ""), kubeconfig=access.get("kubeconfig"),
            context=access.get("context"), address_mode="direct",
            require_namespace_label=False,
        )
        self.access = dict(access)

    def resume(self, pod: Pod) -> None:
        from chaos.platforms.kubernetes import execs

        cluster = connect(self.settings)
        try:
            if same_pod(cluster, pod):
                execs.signal_main(cluster, pod, "CONT", "RSDI")
        finally:
            cluster.close()

    def restore_certificate(self, swap: SecretSwap) -> None:
        from chaos.platforms.kubernetes import secrets

        cluster = connect(self.settings)
        try:
            secrets.restore(cluster, swap)
        finally:
            cluster.close()

    def delete_proxies(self, names: list[str]) -> list[str]:
        from chaos.platforms.proxyserver import delete

        with self.proxy_api() as url:
            return delete(url, names)

    @contextmanager
    def proxy_api(self) -> Iterator[str]:
        """Through the run's address mode: a port-forward is opened anew (and closed)."""
        from chaos.platforms.kubernetes.addresses import Addresses
        from chaos.spec.models import TargetSpec
        from chaos.spec.structs import decode

        target = decode(TargetSpec, {
            "apiVersion": "pipechaos/v1", "kind": "Target", "metadata": {"name": "rollback"},
            "platform": {"type": "kubernetes", "settings": {"namespace": self.settings.namespace}},
            "proxy_server": {"service": self.access.get("proxy_service", ""),
                             "port": self.access.get("proxy_port", "api")},
            "components": []})
        cluster = connect(self.settings)
        addresses = Addresses(cluster, target, self.settings.namespace,
                              self.access.get("address_mode", "port-forward"))
        try:
            yield "http://" + addresses.proxy_api_address()
        finally:
            addresses.close()
            cluster.close()
