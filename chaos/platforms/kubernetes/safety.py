"""The namespace gate, asked before any write: system namespaces never, the opt-in label
unless the target waives it. A namespaced service account proves the label with a
ClusterRole that allows only `get` on this one namespace (`resourceNames`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chaos.platforms.base import PlatformRefused
from chaos.platforms.kubernetes.client import ApiException, reason
from chaos.platforms.kubernetes.settings import OPT_IN_LABEL, SYSTEM_NAMESPACES

if TYPE_CHECKING:
    from chaos.platforms.kubernetes.client import Cluster
    from chaos.platforms.kubernetes.settings import Settings


def check(cluster: Cluster, settings: Settings) -> None:
    """PlatformRefused (exit 2, nothing written) when the namespace may not be touched."""
    ns = settings.namespace
    if ns in SYSTEM_NAMESPACES:
        raise PlatformRefused(f"namespace {ns!r} is a system namespace: always refused")
    if not settings.require_namespace_label:
        return
    key, value = OPT_IN_LABEL
    try:
        obj = cluster.core.read_namespace(ns)
    except ApiException as exc:
        if exc.status == 403:
            raise PlatformRefused(
                f"cannot read namespace {ns!r} to check its opt-in label {key}={value} "
                f"({reason(exc)}): grant a ClusterRole with get on namespaces, resourceNames "
                f"[{ns}], or set require_namespace_label: false"
            ) from None
        raise PlatformRefused(f"namespace {ns!r}: {reason(exc)}") from None
    labels = obj.metadata.labels or {}
    if labels.get(key) != value:
        raise PlatformRefused(
            f"namespace {ns!r} has not opted in: label it {key}={value} "
            f"(or set require_namespace_label: false in the target)"
        )
