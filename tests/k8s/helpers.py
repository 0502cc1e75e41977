"""Targets and a deployed reference pipeline on the cluster double, for the platform tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chaos.spec.models import TargetSpec
from chaos.spec.structs import decode
from tests.k8s.double import Cluster
from tests.k8s.layout import manifests

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "targets" / "reference-k8s.yaml"
NS = "pipechaos-ref"
OPT_IN = {"pipechaos.io/chaos": "enabled"}


def target_doc(cluster: Cluster, mode: str = "port-forward", **settings: Any) -> dict[str, Any]:
    """targets/reference-k8s.yaml pointed at the double."""
    raw: dict[str, Any] = yaml.safe_load(TARGET.read_text())
    raw["platform"]["settings"].update(kubeconfig=str(cluster.kubeconfig), address_mode=mode,
                                       **settings)
    return raw


def target(cluster: Cluster, mode: str = "port-forward", **settings: Any) -> TargetSpec:
    return decode(TargetSpec, target_doc(cluster, mode, **settings))


def write_target(cluster: Cluster, folder: Path, mode: str = "port-forward",
                 **settings: Any) -> Path:
    path = folder / "reference-k8s.yaml"
    path.write_text(yaml.safe_dump(target_doc(cluster, mode, **settings), sort_keys=False))
    return path


def deploy(cluster: Cluster, namespace: str = NS, bug: str | None = None) -> None:
    """The reference layout in `namespace` (opted in), every workload Ready."""
    cluster.create_namespace(namespace, labels=OPT_IN)
    cluster.apply(manifests(bug=bug), namespace=namespace)
    cluster.wait_ready(namespace, timeout=120)


def proxy_names(cluster: Cluster, namespace: str = NS) -> set[str]:
    """The proxies the deployment's proxy server has now (its API on the pod's IP)."""
    with _proxy_client(cluster, namespace) as client:
        return set(client.proxies())


def proxy_toxics(cluster: Cluster, proxy: str, namespace: str = NS) -> list[str]:
    with _proxy_client(cluster, namespace) as client:
        return [str(t.get("name")) for t in client.proxy(proxy).get("toxics") or []]


def _proxy_client(cluster: Cluster, namespace: str) -> Any:
    from chaos.proxy.client import ToxiproxyClient

    pod = cluster.list("Pod", namespace, selector={"app": "toxiproxy"})[0]
    return ToxiproxyClient(f"http://{pod['status']['podIP']}:8474", timeout=10.0)
