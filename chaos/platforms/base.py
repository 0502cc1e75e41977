"""Where a target runs: local (process supervisor) or Kubernetes (official client).

A platform owns the pods, the proxy server and address resolution. Faults and probes
reach the target only through this interface. A platform class may also offer
`detached(access) -> Detached` (chaos.platforms.detached): resume a pod and restore a
certificate from journal records alone, for `pipechaos rollback`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chaos.spec.models import TargetSpec


class PlatformError(Exception):
    """The target could not be started or reached (exit 3)."""


class PlatformRefused(PlatformError):
    """Safety refuses the target before anything is written (exit 2, as validate would):
    e.g. a Kubernetes namespace without the opt-in label."""


@dataclass(frozen=True)
class Pod:
    name: str  # new on every restart: <component>-<index>-<4 hex>
    component: str
    index: int  # replica slot
    # the component's labels plus `component` and `index` (str(index)), on every platform:
    # chaos.spec.roles.pod_labels, so validate can predict what a selector finds
    labels: dict[str, str] = field(default_factory=dict)
    pid: int | None = None  # local platform only
    ready: bool = False
    started_ns: int = 0
    uid: str | None = None  # Kubernetes: metadata.uid (a StatefulSet pod keeps its name)
    namespace: str | None = None  # Kubernetes
    container: str | None = None  # Kubernetes: the container faults act on
    restarts: int = 0  # Kubernetes: container restarts so far (a crash restarts in place)
    # how `pipechaos rollback` reaches this pod's platform again without a run (journal-safe
    # plain strings: {"platform": "kubernetes", "kubeconfig": ..., "context": ...}); {} local
    access: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CertificateSwap:
    """Undo information for rotate_certificate (journal-safe: plain paths)."""

    service: str
    cert_path: str
    key_path: str
    backup_cert_path: str
    backup_key_path: str
    reload_pid: int | None


@dataclass(frozen=True)
class SecretSwap:
    """Undo information for rotate_certificate on a cluster: names only, never key material
    (the backup is a Secret beside the original, in the cluster)."""

    service: str
    namespace: str
    secret: str
    backup: str  # the backup Secret's name
    reload: str  # "restart" | "signal"
    workload: str | None  # KIND/NAME, for a rollout restart
    selector: dict[str, str] = field(default_factory=dict)  # the service's pods
    container: str | None = None
    access: dict[str, str] = field(default_factory=dict)  # as Pod.access


class Platform(Protocol):
    def __init__(self, target: TargetSpec, run_dir: Path, bug: str | None) -> None: ...

    @staticmethod
    def namespace(target: TargetSpec) -> str | None:
        """Where the target runs, checked against an experiment's
        `safety.allowed_namespaces` before anything starts (Kubernetes: its namespace)."""

    def up(self) -> None:
        """Start (or connect to) every component and the proxies; wait until ready."""

    def down(self) -> None:
        """Stop everything this platform started. Idempotent."""

    def resolve(self, text: str) -> str:
        """Replace ${component:...}, ${proxy:...}, ${proxy_api} references."""

    def proxy_api(self) -> str:
        """Base URL of the Toxiproxy-compatible API, e.g. http://127.0.0.1:8474."""

    def pods(self, selector: dict[str, str]) -> list[Pod]:
        """Live pods whose labels include every selector pair, sorted by name."""

    def kill(self, pod: Pod, signal: str, grace_s: float) -> None: ...

    def pause(self, pod: Pod) -> None: ...

    def resume(self, pod: Pod) -> None: ...

    def paused(self, pod: Pod) -> bool:
        """Whether the pod's main process is stopped now (pod.pause's verify)."""

    def wait_replacement(self, old: Pod, timeout_s: float) -> Pod:
        """Block until a new, ready pod holds `old`'s slot; raise PlatformError."""

    def admin_url(self, pod: Pod, port: str) -> str:
        """Address of a pod's named port reached without a proxy, e.g. for crash points."""

    def rotate_certificate(
        self, service: str, cert_pem: bytes, key_pem: bytes
    ) -> CertificateSwap | SecretSwap:
        """Swap a service's serving certificate (local: files + SIGHUP; Kubernetes: the
        Secret, backed up in a labelled Secret, then a reload)."""

    def restore_certificate(self, swap: CertificateSwap | SecretSwap) -> None: ...
