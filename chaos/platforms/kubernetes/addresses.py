"""`${component:...}`, `${proxy:...}`, `${proxy_api}` through the address mode.

service: Service DNS names (the runner runs in the cluster); port-forward: a loopback
listener per address (chaos.platforms.kubernetes.forward); direct: pod IPs. Proxy
upstreams are always named in the cluster's terms, since the proxy server runs there.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from chaos.platforms.base import PlatformError
from chaos.platforms.kubernetes import pods as podlib
from chaos.platforms.kubernetes.client import ApiException, reason
from chaos.platforms.kubernetes.forward import Forwarder

if TYPE_CHECKING:
    from chaos.platforms.base import Pod
    from chaos.platforms.kubernetes.client import Cluster
    from chaos.spec.models import Component, TargetSpec

_REF = re.compile(r"\$\{([^{}]*)\}")


def listen_port(listen: str) -> int:
    """`0.0.0.0:16380` or `16380` -> 16380."""
    tail = listen.rsplit(":", 1)[-1]
    if not tail.isdigit():
        raise PlatformError(f"proxy listen {listen!r}: a port number is needed on kubernetes")
    return int(tail)


def service_name(component: Component) -> str:
    """A component's Service is named like its workload (or the component)."""
    return component.workload.split("/", 1)[1] if component.workload else component.name


class Addresses:
    def __init__(self, cluster: Cluster, target: TargetSpec, namespace: str, mode: str) -> None:
        self.cluster, self.target, self.ns, self.mode = cluster, target, namespace, mode
        self._forwards: dict[tuple[str, ...], Forwarder] = {}
        self._services: dict[str, Any] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ API lookups
    def service(self, name: str) -> Any:
        if name not in self._services:
            try:
                self._services[name] = self.cluster.core.read_namespaced_service(name, self.ns)
            except ApiException as exc:
                raise PlatformError(f"service {self.ns}/{name}: {reason(exc)}") from None
        return self._services[name]

    def service_port(self, svc: Any, port: str) -> Any:
        for p in svc.spec.ports or []:
            if p.name == port:
                return p
        names = ", ".join(str(p.name) for p in svc.spec.ports or []) or "none"
        raise PlatformError(f"service {svc.metadata.name} has no port {port!r} (has: {names})")

    def component_pod(self, component: Component, index: int) -> Any:
        """The live, Ready pod of a component's slot (the API object)."""
        selector = podlib.label_selector(component.labels)
        objs = self.cluster.core.list_namespaced_pod(self.ns, label_selector=selector).items
        live = sorted((o for o in objs if podlib.is_live(o)), key=lambda o: o.metadata.name)
        for position, obj in enumerate(live):
            slot = podlib.ordinal(obj)
            if (position if slot is None else slot) == index and podlib.is_ready(obj):
                return obj
        raise PlatformError(f"component {component.name}: no Ready pod in slot {index}")

    def proxy_pod(self) -> Any:
        svc = self.service(self._proxy_server()[0])
        selector = podlib.label_selector(dict(svc.spec.selector or {}))
        objs = self.cluster.core.list_namespaced_pod(self.ns, label_selector=selector).items
        ready = sorted((o for o in objs if podlib.is_live(o) and podlib.is_ready(o)),
                       key=lambda o: o.metadata.name)
        if not ready:
            raise PlatformError(f"proxy server {svc.metadata.name}: no Ready pod")
        return ready[0]

    def _proxy_server(self) -> tuple[str, str]:
        server = self.target.proxy_server
        name, port = getattr(server, "service", None), getattr(server, "port", "api")
        if not name:
            raise PlatformError("the kubernetes platform needs proxy_server: {service: NAME}")
        return str(name), str(port)

    def _component(self, name: str) -> Component:
        comp = self.target.component(name)
        if comp is None:
            raise PlatformError(f"no component named {name!r}")
        return comp

    # ------------------------------------------------------------------ addresses
    def lookup(self, ref: str) -> str:
        kind, _, rest = ref.partition(":")
        if ref == "proxy_api":
            return "http://" + self.proxy_api_address()
        if kind == "proxy":
            spec = self.target.proxy(rest)
            if spec is None:
                raise PlatformError(f"${{{ref}}}: no proxy named {rest!r}")
            return self.proxy_address(listen_port(spec.listen))
        if kind == "component":
            parts = rest.split("/")
            if len(parts) not in (2, 3) or not all(parts):
                raise PlatformError(f"${{{ref}}}: expected component:NAME/PORT[/INDEX]")
            index = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else None
            return self.component_address(self._component(parts[0]), parts[1], index)
        raise PlatformError(f"${{{ref}}}: unknown reference")

    def resolve(self, text: str) -> str:
        return _REF.sub(lambda m: self.lookup(m.group(1).strip()), text)

    def component_address(self, comp: Component, port: str, index: int | None) -> str:
        svc_name = service_name(comp)
        if self.mode == "service":
            if index is None:
                svc = self.service(svc_name)
                return f"{svc_name}.{self.ns}.svc:{self.service_port(svc, port).port}"
            obj = self.component_pod(comp, index)  # one pod: its IP is routable in a cluster
            return f"{obj.status.pod_ip}:{self._container_port(obj, comp, port)}"
        slot = 0 if index is None else index
        if self.mode == "direct":
            obj = self.component_pod(comp, slot)
            return f"{obj.status.pod_ip}:{self._container_port(obj, comp, port)}"

        def locate() -> tuple[str, int]:
            obj = self.component_pod(comp, slot)
            return obj.metadata.name, self._container_port(obj, comp, port)

        return self._forward(("component", comp.name, port, str(slot)), locate)

    def pod_address(self, pod: Pod, port: str) -> str:
        """One given pod's named port (crash points: that pod, not the slot's current one)."""
        comp = self._component(pod.component)
        try:
            obj = self.cluster.core.read_namespaced_pod(pod.name, self.ns)
        except ApiException as exc:
            raise PlatformError(f"pod {pod.name}: {reason(exc)}") from None
        number = self._container_port(obj, comp, port)
        if self.mode == "service":
            ip = obj.status.pod_ip
            return f"{ip}:{number}"
        if self.mode == "direct":
            return f"{obj.status.pod_ip}:{number}"
        return self._forward(("pod", pod.name, str(number)), lambda: (pod.name, number))

    def proxy_address(self, number: int) -> str:
        name, _ = self._proxy_server()
        if self.mode == "service":
            return f"{name}.{self.ns}.svc:{number}"
        if self.mode == "direct":
            return f"{self.proxy_pod().status.pod_ip}:{number}"
        return self._forward(("proxy", str(number)), lambda: (self.proxy_pod().metadata.name,
                                                               number))

    def proxy_api_address(self) -> str:
        name, port = self._proxy_server()
        svc = self.service(name)
        sport = self.service_port(svc, port)
        if self.mode == "service":
            return f"{name}.{self.ns}.svc:{sport.port}"

        def target_port() -> tuple[str, int]:
            obj = self.proxy_pod()
            tp = sport.target_port if sport.target_port is not None else sport.port
            if isinstance(tp, int) or str(tp).isdigit():
                return obj.metadata.name, int(tp)
            number = podlib.container_port(obj, None, str(tp))
            if number is None:
                raise PlatformError(f"proxy server pod has no container port {tp!r}")
            return obj.metadata.name, number

        if self.mode == "direct":
            _, number = target_port()
            return f"{self.proxy_pod().status.pod_ip}:{number}"
        return self._forward(("proxy_api",), target_port)

    def cluster_upstreams(self, text: str) -> set[str]:
        """Every way the proxy server (in the cluster) may name the upstream `text`."""
        match = re.fullmatch(r"\$\{component:([^/{}]+)/([^/{}]+)\}", text.strip())
        if match is None:
            return {text}
        comp = self._component(match.group(1))
        name = service_name(comp)
        svc = self.service(name)
        number = self.service_port(svc, match.group(2)).port
        hosts = {name, f"{name}.{self.ns}", f"{name}.{self.ns}.svc",
                 f"{name}.{self.ns}.svc.cluster.local"}
        if svc.spec.cluster_ip and svc.spec.cluster_ip != "None":
            hosts.add(svc.spec.cluster_ip)
        if (comp.workload or "").startswith("StatefulSet/"):  # its pods' own DNS names
            for i in range(comp.replicas):
                pod = f"{name}-{i}.{name}"
                hosts |= {pod, f"{pod}.{self.ns}", f"{pod}.{self.ns}.svc",
                          f"{pod}.{self.ns}.svc.cluster.local"}
        return {f"{h}:{number}" for h in hosts}

    # ------------------------------------------------------------------ internals
    def _container_port(self, obj: Any, comp: Component, port: str) -> int:
        number = podlib.container_port(obj, podlib.container_of(obj, comp), port)
        if number is None:
            raise PlatformError(f"pod {obj.metadata.name} has no container port {port!r}")
        return number

    def _forward(self, key: tuple[str, ...], locate: Any) -> str:
        with self._lock:
            fwd = self._forwards.get(key)
            if fwd is None:
                locate()  # fail now, with the reason, rather than on first connect
                fwd = self._forwards[key] = Forwarder(self.cluster, self.ns, locate, "/".join(key))
            return fwd.address

    def close(self) -> None:
        with self._lock:
            forwards, self._forwards = list(self._forwards.values()), {}
        for fwd in forwards:
            fwd.close()
