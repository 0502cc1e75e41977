"""The Kubernetes platform: attach to a deployed pipeline, never deploy it.

Imports only light modules at the top: `validate` loads this class (for `namespace` and
`validate_target`) and must not import the kubernetes client; up() does.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaos.platforms.base import CertificateSwap, PlatformError, Pod, SecretSwap
from chaos.platforms.kubernetes import settings as settings_mod

if TYPE_CHECKING:
    from chaos.platforms.kubernetes.addresses import Addresses
    from chaos.platforms.kubernetes.client import Cluster
    from chaos.platforms.kubernetes.replace import Killed
    from chaos.spec.models import Component, TargetSpec


class KubernetesPlatform:
    """Platform protocol (chaos/platforms/base.py) over the Kubernetes API."""

    @staticmethod
    def namespace(target: TargetSpec) -> str | None:
        value = target.platform.settings.get("namespace")
        return value if isinstance(value, str) and value else None

    @staticmethod
    def validate_target(target: TargetSpec) -> list[tuple[tuple[str | int, ...], str]]:
        """Offline problems of a target on this platform (validate: exit 2)."""
        return settings_mod.problems(target)

    @staticmethod
    def detached(access: dict[str, str]) -> Any:
        from chaos.platforms.kubernetes.detached import DetachedCluster

        return DetachedCluster(access)

    def __init__(self, target: TargetSpec, run_dir: Path, bug: str | None) -> None:
        self.target = target
        self.run_dir = Path(run_dir).resolve()
        self.bug = bug  # the deployment decides its variant; recorded for the report only
        self.settings = settings_mod.parse(target)
        self.ns = self.settings.namespace
        self._cluster: Cluster | None = None
        self._addresses: Addresses | None = None
        self._created_proxies: list[str] = []
        self._proxy_url: str | None = None
        self._killed: dict[str, Killed] = {}
        self._listed: dict[str, str] = {}  # component -> resourceVersion of its last list
        self._lock = threading.RLock()
        self._state = "new"
        self._attached = False  # past the namespace gate: only then is anything touched
        self._started = time.time()

    # ------------------------------------------------------------------ lifecycle
    def up(self) -> None:
        with self._lock:
            if self._state != "new":
                raise PlatformError(f"platform is already {self._state}")
            self._state = "up"
        from chaos.platforms.kubernetes import safety
        from chaos.platforms.kubernetes.addresses import Addresses
        from chaos.platforms.kubernetes.client import connect

        self._started = time.time()
        self._cluster = connect(self.settings)
        safety.check(self._cluster, self.settings)  # before anything else, reads only
        self._attached = True
        self._addresses = Addresses(self._cluster, self.target, self.ns,
                                    self.settings.address_mode)
        try:
            self._wait_components()
            if self.target.proxies or getattr(self.target.proxy_server, "service", None):
                self._proxies()
        except BaseException:
            self.down()
            raise

    def _wait_components(self) -> None:
        from chaos.platforms.kubernetes.ready import wait_ready

        for comp in self.target.components:
            wait_ready(self._need(), self.ns, comp, _ready_timeout(comp))

    def _proxies(self) -> None:
        from chaos.platforms.kubernetes import proxies
        from chaos.platforms.proxyserver import wait_api

        url = self.proxy_api()
        wait_api(url, 10.0, None)
        plan = proxies.missing(url, self.target, self._addr().cluster_upstreams)
        self._created_proxies = [name for name, _, _ in plan]  # down() deletes what exists
        proxies.create(url, plan, self._journal, self.proxy_access())

    def down(self) -> None:
        with self._lock:
            if self._state in ("down", "new"):
                self._state = "down"
                return
            self._state = "down"
        try:
            if self._created_proxies and self._proxy_url:
                from chaos.platforms.kubernetes import proxies

                self._created_proxies = proxies.remove(self._proxy_url, self._created_proxies,
                                                       self._journal)
            if self._cluster is not None and self._attached:
                from chaos.platforms.kubernetes.logs import save_logs

                save_logs(self._cluster, self.target, self.ns, self.run_dir / "pods",
                          self._started)
        finally:
            if self._addresses is not None:
                self._addresses.close()
            if self._cluster is not None:
                self._cluster.close()

    # ------------------------------------------------------------------ addresses
    def resolve(self, text: str) -> str:
        return self._addr().resolve(text)

    def proxy_api(self) -> str:
        if self._proxy_url is None:
            self._proxy_url = "http://" + self._addr().proxy_api_address()
        return self._proxy_url

    def admin_url(self, pod: Pod, port: str) -> str:
        return "http://" + self._addr().pod_address(pod, port)

    @property
    def created_proxies(self) -> list[str]:
        return list(self._created_proxies)

    def proxy_access(self) -> dict[str, str]:
        """Journal-safe: how `pipechaos rollback` reaches the proxy API again."""
        server = self.target.proxy_server
        return {**self.settings.access(), "address_mode": self.settings.address_mode,
                "proxy_service": str(getattr(server, "service", "") or ""),
                "proxy_port": str(getattr(server, "port", "") or "api")}

    @property
    def _journal(self) -> Path:
        return self.run_dir / "journal.jsonl"

    # ------------------------------------------------------------------ pods
    def pods(self, selector: dict[str, str]) -> list[Pod]:
        from chaos.platforms.kubernetes import pods as podlib

        cluster, found = self._need(), []
        for comp, query in podlib.queries(self.target, selector):
            listing = cluster.core.list_namespaced_pod(self.ns, label_selector=query)
            self._listed[comp.name] = listing.metadata.resource_version
            found += podlib.to_pods(listing.items, comp, self.settings.access())
        return sorted(found, key=lambda p: p.name)

    def kill(self, pod: Pod, signal: str, grace_s: float) -> None:
        from chaos.platforms.kubernetes import pods as podlib
        from chaos.platforms.kubernetes import replace

        key = signal.upper().removeprefix("SIG")
        if key not in ("KILL", "TERM"):
            raise PlatformError(f"kubernetes deletes pods: signal KILL or TERM, not {signal}")
        comp = self._component(pod.component)
        selector = podlib.label_selector(comp.labels)
        grace = 0.0 if key == "KILL" else grace_s
        # the watch that verifies starts at the list the victim came from: it then sees the
        # delete itself (an immediate delete answers with a version past its own event)
        killed = replace.delete(self._need(), pod, grace, selector,
                                self._listed.get(comp.name))
        self._killed[killed.uid] = killed

    def wait_replacement(self, old: Pod, timeout_s: float) -> Pod:
        from chaos.platforms.kubernetes import pods as podlib
        from chaos.platforms.kubernetes import replace

        comp = self._component(old.component)
        killed = self._killed.pop(str(old.uid), None)
        if killed is None:  # a pod that died by itself (pod.crash): watch from now
            killed = replace.Killed(str(old.uid), None, podlib.label_selector(comp.labels), None)
        name = replace.wait(self._need(), old, killed, timeout_s)
        found = [p for p in self.pods({"component": comp.name}) if p.name == name]
        if not found:
            raise PlatformError(f"the replacement {name} of pod {old.name} is gone again")
        return found[0]

    def pause(self, pod: Pod) -> None:
        from chaos.platforms.kubernetes import execs

        execs.signal_main(self._need(), pod, "STOP", "Tt")

    def resume(self, pod: Pod) -> None:
        from chaos.platforms.kubernetes import execs

        if self._same_pod(pod):
            execs.signal_main(self._need(), pod, "CONT", "RSDI")

    def paused(self, pod: Pod) -> bool:
        """Read the main process state: stopped (T) or not (pod.pause's verify)."""
        from chaos.platforms.kubernetes import execs

        return execs.main_process(self._need(), pod)[1] in ("T", "t")

    def _same_pod(self, pod: Pod) -> bool:
        from chaos.platforms.kubernetes.detached import same_pod

        return same_pod(self._need(), pod)

    # ------------------------------------------------------------------ certificates
    def certificate_authority(self) -> tuple[bytes, bytes]:
        from chaos.platforms.kubernetes import secrets

        return secrets.read_ca(self._need(), self.ns)

    def rotate_certificate(
        self, service: str, cert_pem: bytes, key_pem: bytes
    ) -> CertificateSwap | SecretSwap:
        from chaos.platforms.kubernetes import secrets

        comp = self._component(service)
        if comp.tls is None or comp.tls.secret is None:
            raise PlatformError(f"rotate_certificate: component {service!r} has no tls.secret")
        return secrets.rotate(self._need(), self.ns, comp, cert_pem, key_pem,
                              self.settings.access())

    def restore_certificate(self, swap: CertificateSwap | SecretSwap) -> None:
        from chaos.platforms.kubernetes import secrets

        if not isinstance(swap, SecretSwap):
            raise PlatformError("restore_certificate: not a Kubernetes Secret swap")
        secrets.restore(self._need(), swap)

    # ------------------------------------------------------------------ internals
    def _need(self) -> Cluster:
        if self._cluster is None:
            raise PlatformError("the kubernetes platform is not up")
        return self._cluster

    def _addr(self) -> Addresses:
        if self._addresses is None:
            raise PlatformError("the kubernetes platform is not up")
        return self._addresses

    def _component(self, name: str) -> Component:
        comp = self.target.component(name)
        if comp is None:
            raise PlatformError(f"no component named {name!r}")
        return comp


def _ready_timeout(component: Component) -> float:
    return component.ready.timeout if component.ready is not None else 60.0
