"""The local platform: every component replica is a supervised process on this machine.

up() allocates loopback ports, makes the deployment CA and serving certificates, starts
the proxy server and its proxies, then the components in file order, each waiting until
ready. A pod that exits is restarted under a new name (see supervisor.py). down() stops
everything, in reverse order; the parent-death signal and the reaper cover a runner that
dies without calling it.
"""

from __future__ import annotations

import os
import signal as signals
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import chaos
from chaos.platforms.base import CertificateSwap, PlatformError, Pod
from chaos.platforms.reaper import Reaper
from chaos.platforms.references import AddressBook, resolve_text, resolve_value, with_index
from chaos.spec.models import ProxyServerUrl
from chaos.spec.roles import pod_labels
from chaos.spec.units import parse_duration

if TYPE_CHECKING:
    from chaos.platforms import proxyserver
    from chaos.platforms.supervisor import Slot, SlotSpec, Spawner
    from chaos.spec.models import Component, TargetSpec

SIGNALS = {"KILL": signals.SIGKILL, "TERM": signals.SIGTERM, "INT": signals.SIGINT,
           "HUP": signals.SIGHUP, "QUIT": signals.SIGQUIT}


def parse_signal(name: str) -> int:
    """`KILL`, `SIGTERM`, `term` -> the signal number; PlatformError otherwise."""
    key = name.upper().removeprefix("SIG")
    if key not in SIGNALS:
        raise PlatformError(f"unknown signal {name!r} (use one of {', '.join(SIGNALS)})")
    return SIGNALS[key]


def project_root(settings: dict[str, Any]) -> Path:
    """The directory holding `targets/`: settings.root, else cwd or a parent, else ours."""
    if settings.get("root"):
        return Path(str(settings["root"])).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "targets").is_dir():
            return candidate
    ours = Path(chaos.__file__).resolve().parent.parent
    return ours if (ours / "targets").is_dir() else here


class LocalPlatform:
    """Platform protocol (chaos/platforms/base.py) on local processes."""

    description = (
        "every component replica runs as a process on this machine, restarted when it "
        "exits; proxies and certificates are set up for the run and removed after it"
    )

    @staticmethod
    def namespace(target: TargetSpec) -> str | None:
        """`platform.settings.namespace`, by default `local`: an allow-list of staging
        namespaces refuses local targets unless it names them."""
        name = target.platform.settings.get("namespace", "local")
        return name if isinstance(name, str) else None

    def __init__(self, target: TargetSpec, run_dir: Path, bug: str | None) -> None:
        self.target = target
        self.run_dir = Path(run_dir).resolve()
        # explicit argument, else the runner's environment, else the target file
        self.bug = bug or os.environ.get("PIPECHAOS_REF_BUG") or target.bug or None
        settings = target.platform.settings
        self.root = project_root(settings)
        self.grace_s = _duration(settings.get("grace"), 5.0)
        self.pods_dir = self.run_dir / "pods"
        self.ca_file = self.pods_dir / "data" / "ca" / "ca.pem"
        self._book = AddressBook()
        self._slots: list[Slot] = []
        self._lock = threading.RLock()  # down() may run in a signal handler during up()
        self._state = "new"  # new -> up -> down
        self._spawner: Spawner | None = None
        self._reaper: Reaper | None = None
        self._proxy_server: proxyserver.EmbeddedServer | None = None
        self._proxy_url: str | None = None
        self._shared: proxyserver.SharedServer | None = None

    # ------------------------------------------------------------------ lifecycle
    def up(self) -> None:
        with self._lock:
            if self._state != "new":
                raise PlatformError(f"platform is already {self._state}")
            self._state = "up"
        try:
            self._up()
        except BaseException:
            self.down()
            raise

    def _up(self) -> None:
        # here, not at the top: `validate` loads this class for its offline checks only
        from concurrent.futures import ThreadPoolExecutor

        from chaos.platforms.supervisor import Slot, Spawner

        self._book = self._allocate()
        proxies = [
            {"name": p.name, "listen": self._book.proxies[p.name],
             "upstream": resolve_text(p.upstream, self._book), "enabled": True}
            for p in self.target.proxies
        ]
        specs = [self._slot_spec(c, i) for c in self.target.components for i in range(c.replicas)]
        self._make_certificates()
        self._spawner = Spawner()
        self._reaper = Reaper()
        if self.target.proxies:
            self._start_proxy_server(proxies)
        elif self.target.real_toxiproxy:
            self._proxy_url = self._book.proxy_api
        for component in self.target.components:  # in file order; replicas side by side
            slots = [Slot(s, self._spawner, self._reaper) for s in specs
                     if s.component == component.name]
            with self._lock:  # down() (e.g. from a signal handler) may have run meanwhile
                if self._state == "down":
                    raise PlatformError("the platform was stopped while starting")
                self._slots.extend(slots)
            if slots:
                with ThreadPoolExecutor(max_workers=len(slots)) as pool:
                    for done in [pool.submit(slot.start) for slot in slots]:
                        done.result()

    def down(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        with self._lock:
            if self._state == "down":
                return
            self._state = "down"
        by_component: dict[str, list[Slot]] = {}
        for slot in self._slots:
            by_component.setdefault(slot.spec.component, []).append(slot)
        for slots in reversed(list(by_component.values())):
            with ThreadPoolExecutor(max_workers=len(slots)) as pool:
                list(pool.map(lambda s: s.stop(self.grace_s), slots))
        if self._proxy_server is not None:
            self._proxy_server.stop(self.grace_s)
        elif self._shared is not None:
            self._shared.stop()
        if self._reaper is not None:
            self._reaper.close()
        if self._spawner is not None:
            self._spawner.close()

    # ------------------------------------------------------------------ addresses
    def resolve(self, text: str) -> str:
        return resolve_text(text, self._book)

    def proxy_api(self) -> str:
        if self._proxy_url is None:
            raise PlatformError("no proxy server: the platform is not up")
        return self._proxy_url

    def admin_url(self, pod: Pod, port: str) -> str:
        key = (pod.component, port, pod.index)
        if key not in self._book.ports:
            raise PlatformError(f"pod {pod.name} has no port named {port!r}")
        from chaos.platforms.ports import HOST

        return f"http://{HOST}:{self._book.ports[key]}"

    @property
    def proxy_server_pid(self) -> int | None:
        """The embedded proxy server's pid (local only: benchmarks, diagnostics)."""
        return self._proxy_server.pid if self._proxy_server is not None else None

    # ------------------------------------------------------------------ pods
    def pods(self, selector: dict[str, str]) -> list[Pod]:
        found = [pod for slot in self._slots if (pod := slot.pod()) is not None]
        chosen = [p for p in found if all(p.labels.get(k) == v for k, v in selector.items())]
        return sorted(chosen, key=lambda p: p.name)

    def kill(self, pod: Pod, signal: str, grace_s: float) -> None:
        self._slot(pod).kill(pod.name, parse_signal(signal), grace_s)

    def pause(self, pod: Pod) -> None:
        self._slot(pod).set_paused(pod.name, True)

    def resume(self, pod: Pod) -> None:
        self._slot(pod).set_paused(pod.name, False)

    def paused(self, pod: Pod) -> bool:
        from chaos.platforms.supervisor import process_state

        return pod.pid is not None and process_state(pod.pid) in ("T", "t")

    def wait_replacement(self, old: Pod, timeout_s: float) -> Pod:
        slot = self._slot(old)

        def replaced() -> bool:
            pod = slot.pod()
            return pod is not None and pod.name != old.name and pod.ready

        if not slot.wait_for(replaced, timeout_s):
            raise PlatformError(f"no ready replacement for pod {old.name} after {timeout_s:g}s")
        pod = slot.pod()
        if pod is None:
            raise PlatformError(f"the replacement of pod {old.name} exited at once")
        return pod

    # ------------------------------------------------------------------ certificates
    def rotate_certificate(self, service: str, cert_pem: bytes, key_pem: bytes) -> CertificateSwap:
        from chaos.platforms import certfiles  # cryptography: not for `validate`

        slots = self._tls_slots(service)
        parts = []
        for slot in slots:
            pod = slot.pod()
            pid = pod.pid if pod is not None else None
            tls_dir = self._data_dir(service, slot.spec.index) / "tls"
            parts.append(certfiles.swap_files(service, tls_dir, cert_pem, key_pem, pid))
            certfiles.reload(pid)
        return certfiles.CertificateSwaps(**{**parts[0].__dict__, "replicas": tuple(parts)})

    def restore_certificate(self, swap: CertificateSwap) -> None:
        from chaos.platforms import certfiles

        parts = (
            swap.replicas if isinstance(swap, certfiles.CertificateSwaps) and swap.replicas
            else (swap,)
        )
        live = {
            str(self._data_dir(s.spec.component, s.spec.index) / "tls" / "cert.pem"): s.pod()
            for s in self._slots
        }
        for part in parts:
            certfiles.restore_files(part)
            pod = live.get(part.cert_path)
            certfiles.reload(pod.pid if pod is not None else part.reload_pid)

    # ------------------------------------------------------------------ internals
    def _slot(self, pod: Pod) -> Slot:
        for slot in self._slots:
            if slot.spec.component == pod.component and slot.spec.index == pod.index:
                return slot
        raise PlatformError(f"no pod slot {pod.component}-{pod.index}")

    def _tls_slots(self, service: str) -> list[Slot]:
        component = self.target.component(service)
        if component is None:
            raise PlatformError(f"rotate_certificate: no component named {service!r}")
        if component.tls is None:
            raise PlatformError(f"rotate_certificate: component {service!r} serves no TLS")
        slots = [s for s in self._slots if s.spec.component == service]
        if not slots:
            raise PlatformError(f"rotate_certificate: component {service!r} has no pods")
        return slots

    def _data_dir(self, component: str, index: int) -> Path:
        return self.pods_dir / "data" / f"{component}-{index}"

    def _allocate(self) -> AddressBook:
        from chaos.platforms.ports import HOST, free_port

        ports = {
            (c.name, port, i): free_port()
            for c in self.target.components
            for i in range(c.replicas)
            for port in c.ports
        }
        proxies = {
            p.name: f"{HOST}:{free_port()}" if p.listen == "auto" else p.listen
            for p in self.target.proxies
        }
        server = self.target.proxy_server
        if server == "embedded":
            api = f"http://{HOST}:{free_port()}"
        elif isinstance(server, ProxyServerUrl) and server.url is not None:
            api = server.url.rstrip("/")
        else:
            raise PlatformError("proxy_server {service: ...} is for the kubernetes platform")
        return AddressBook(ports=ports, proxies=proxies, proxy_api=api)

    def _slot_spec(self, component: Component, index: int) -> SlotSpec:
        from chaos.platforms.supervisor import SlotSpec

        if not component.command:
            raise PlatformError(f"component {component.name}: no command for the local platform")
        settings = resolve_value(with_index(component.settings, index), self._book)
        argv = [str(a) for a in resolve_value(with_index(component.command, index), self._book)]
        if argv[0] == "python":
            argv[0] = sys.executable
        ports = {port: self._book.ports[(component.name, port, index)] for port in component.ports}
        data_dir = self._data_dir(component.name, index)
        data_dir.mkdir(parents=True, exist_ok=True)
        pod: dict[str, Any] = {
            "component": component.name, "index": index, "labels": pod_labels(component, index),
            "ports": ports, "settings": settings, "data_dir": str(data_dir), "bug": self.bug,
            "ca_file": str(self.ca_file),
        }
        if component.tls is not None:
            if component.tls.port not in ports:
                raise PlatformError(
                    f"component {component.name}: tls.port {component.tls.port!r} "
                    f"is not one of its ports {component.ports}"
                )
            tls_dir = data_dir / "tls"
            pod["tls"] = {"cert": str(tls_dir / "cert.pem"), "key": str(tls_dir / "key.pem")}
        return SlotSpec(
            component=component.name, index=index, argv=argv, env=self._env(component, index),
            pod=pod, labels=pod_labels(component, index), cwd=self.root, log_dir=self.pods_dir,
            ready=self._ready(component, ports), ready_timeout=_ready_timeout(component),
            restart=component.restart.policy == "always", backoff=component.restart.backoff,
            max_backoff=component.restart.max_backoff,
        )

    def _ready(self, component: Component, ports: dict[str, int]) -> Callable[[], bool]:
        from chaos.platforms import readiness

        spec = component.ready
        if spec is None:
            return readiness.always
        port_name = spec.tcp or spec.http
        if port_name is None:
            return readiness.always
        if port_name not in ports:
            raise PlatformError(
                f"component {component.name}: ready port {port_name!r} is not one of its ports"
            )
        if spec.tcp is not None:
            return readiness.tcp(ports[port_name])
        tls = component.tls is not None and component.tls.port == port_name
        return readiness.http_get(ports[port_name], spec.path, self.ca_file if tls else None)

    def _env(self, component: Component, index: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PIPECHAOS_REF_BUG"}
        path = [str(self.root), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
        env["PYTHONUNBUFFERED"] = "1"
        for key, value in component.env.items():
            env[key] = resolve_text(with_index(value, index), self._book)
        return env

    def _make_certificates(self) -> None:
        from chaos.platforms import certfiles

        ca = certfiles.install_ca(self.ca_file.parent)
        for component in self.target.components:
            if component.tls is None:
                continue
            for index in range(component.replicas):
                tls_dir = self._data_dir(component.name, index) / "tls"
                certfiles.issue(tls_dir, ca, list(component.tls.hosts))

    def _start_proxy_server(self, proxies: list[dict[str, Any]]) -> None:
        from chaos.platforms import proxyserver

        assert self._spawner is not None and self._book.proxy_api is not None
        url = self._book.proxy_api
        if self.target.proxy_server == "embedded":
            port = int(url.rsplit(":", 1)[1])
            self._proxy_server = proxyserver.EmbeddedServer(
                self._spawner, port, self.pods_dir / "proxy-server.log", self.root,
                self._env_plain(), proxies, self._reaper,
            )
            self._proxy_url = url
            self._proxy_server.start()
            return
        self._shared = proxyserver.SharedServer(url, proxies, self.run_dir / "journal.jsonl")
        self._proxy_url = url
        self._shared.start()

    def _env_plain(self) -> dict[str, str]:
        env = dict(os.environ)
        path = [str(self.root), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
        return env


def _duration(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise PlatformError(f"platform.settings: {exc}") from None


def _ready_timeout(component: Component) -> float:
    return component.ready.timeout if component.ready is not None else 20.0
