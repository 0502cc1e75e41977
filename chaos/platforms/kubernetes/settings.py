"""Target settings of the Kubernetes platform, checked without a cluster (pure).

`validate` calls `problems(target)`; the platform calls `parse(target)`. Neither imports
the kubernetes client.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chaos.spec.models import TargetSpec

SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
OPT_IN_LABEL = ("pipechaos.io/chaos", "enabled")
MODES = ("auto", "service", "port-forward", "direct")
KNOWN = ("namespace", "kubeconfig", "context", "address_mode", "require_namespace_label",
         "grace")
SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


@dataclass(frozen=True)
class Settings:
    namespace: str
    kubeconfig: str | None
    context: str | None
    address_mode: str  # service | port-forward | direct (auto already decided)
    require_namespace_label: bool

    def access(self) -> dict[str, str]:
        """Journal-safe: enough to connect again for `pipechaos rollback`."""
        out = {"platform": "kubernetes", "namespace": self.namespace}
        if self.kubeconfig:
            out["kubeconfig"] = self.kubeconfig
        if self.context:
            out["context"] = self.context
        return out


def in_cluster() -> bool:
    """Running in a pod: the service account token is mounted and the API is announced."""
    return SA_TOKEN.is_file() and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def problems(target: TargetSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """(path in the target file, message) for every offline-detectable mistake."""
    raw: dict[str, Any] = dict(target.platform.settings)
    base: tuple[str | int, ...] = ("platform", "settings")
    out: list[tuple[tuple[str | int, ...], str]] = []
    for key in raw:
        if key not in KNOWN:
            out.append(((*base, key), f"unknown setting {key!r} (known: {', '.join(KNOWN)})"))
    namespace = raw.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        out.append(((*base, "namespace"), "required: the namespace the pipeline runs in"))
    elif namespace in SYSTEM_NAMESPACES:
        out.append(((*base, "namespace"), f"{namespace!r} is a system namespace: always refused"))
    mode = raw.get("address_mode", "auto")
    if mode not in MODES:
        out.append(((*base, "address_mode"), f"{mode!r}: use one of {', '.join(MODES)}"))
    for key in ("kubeconfig", "context"):
        if key in raw and not isinstance(raw[key], str):
            out.append(((*base, key), "must be a string"))
    if not isinstance(raw.get("require_namespace_label", True), bool):
        out.append(((*base, "require_namespace_label"), "must be true or false"))
    server = target.proxy_server
    if target.proxies and not hasattr(server, "service"):
        out.append((("proxy_server",), "the kubernetes platform attaches to a deployed proxy "
                    "server: use proxy_server: {service: NAME, port: PORTNAME}"))
    for i, comp in enumerate(target.components):
        if comp.tls is not None and comp.tls.secret is None:
            out.append((("components", i, "tls"), "secret: required on kubernetes (the Secret "
                        "holding tls.crt and tls.key)"))
        if comp.tls is not None and comp.tls.reload == "restart" and comp.workload is None:
            out.append((("components", i, "workload"), "required with tls.reload: restart "
                        "(the workload to restart)"))
    out += _ordinal_problems(target)
    return out


def _ordinal_problems(target: TargetSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """`${component:NAME/PORT/INDEX}` and `{index}` need a component with stable ordinals."""
    from chaos.platforms.references import references

    out: list[tuple[tuple[str | int, ...], str]] = []
    for i, comp in enumerate(target.components):
        if "{index}" in repr(comp.settings) and not stable_ordinal(target, comp.name):
            out.append((("components", i, "settings"), f"{{index}}: component {comp.name!r} has "
                        "no stable ordinal (use a StatefulSet workload)"))
    places: list[tuple[tuple[str | int, ...], Any]] = [
        (("proxies", i, "upstream"), p.upstream) for i, p in enumerate(target.proxies)
    ]
    places += [(("components", i, "settings"), c.settings) for i, c in enumerate(target.components)]
    for key, ref in (("publisher", target.publisher), ("observer", target.observer)):
        if ref is not None:
            places.append(((key, "settings"), ref.settings))
    places.append((("probes", "settings"), target.probes.settings))
    for path, value in places:
        for name in references(value):
            parts = name.removeprefix("component:").split("/")
            if not name.startswith("component:") or len(parts) != 3:
                continue
            if not stable_ordinal(target, parts[0]):
                out.append((path, f"${{{name}}}: component {parts[0]!r} has no stable ordinal "
                            "(a Deployment's pods are not numbered; use a StatefulSet)"))
    return out


def stable_ordinal(target: TargetSpec, component: str) -> bool:
    """A StatefulSet's pods keep their ordinal; other workloads only with one replica."""
    comp = target.component(component)
    if comp is None:
        return True
    return (comp.workload or "").startswith("StatefulSet/") or comp.replicas <= 1


def parse(target: TargetSpec, inside: bool | None = None) -> Settings:
    """The settings with defaults applied; `auto` decided by where we run."""
    raw = target.platform.settings
    mode = str(raw.get("address_mode", "auto"))
    if mode == "auto":
        mode = "service" if (in_cluster() if inside is None else inside) else "port-forward"
    kubeconfig = raw.get("kubeconfig")
    return Settings(
        namespace=str(raw.get("namespace", "")),
        kubeconfig=os.path.expanduser(str(kubeconfig)) if kubeconfig else None,
        context=str(raw["context"]) if raw.get("context") else None,
        address_mode=mode,
        require_namespace_label=bool(raw.get("require_namespace_label", True)),
    )
