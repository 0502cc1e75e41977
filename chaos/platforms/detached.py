"""Reach a platform again from journal records alone (`pipechaos rollback` after SIGKILL).

A Kubernetes pod outlives the run that paused it, so its revert needs the API again. A
record's `access` map (Pod.access, SecretSwap.access) names the platform and how to
connect; the platform class builds a `Detached` from it. Local pods need none: they died
with their run (or are signalled by pid).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from chaos.platforms.base import Pod, SecretSwap


class Detached(Protocol):
    def resume(self, pod: Pod) -> None:
        """Continue a paused pod (idempotent; a replaced pod needs nothing)."""

    def restore_certificate(self, swap: SecretSwap) -> None:
        """Copy the backup Secret back, reload the pods, delete the backup (idempotent)."""

    def delete_proxies(self, names: list[str]) -> list[str]:
        """Delete proxies a run created on the platform's proxy server; the names now gone."""

    def proxy_api(self) -> AbstractContextManager[str]:
        """The proxy API's base URL, reachable while the context is open (toxic reverts)."""


def reattach(access: dict[str, str]) -> Detached | None:
    """The platform's detached handle for `access`, or None (local, or no such platform)."""
    name = access.get("platform")
    if not name:
        return None
    from chaos import registry

    cls: Any = registry.platforms.get(name)
    factory = getattr(cls, "detached", None)
    return factory(dict(access)) if callable(factory) else None
