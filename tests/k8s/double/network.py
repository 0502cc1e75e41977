"""Pod networking: a bridge per cluster, a veth and an IP per pod, ClusterIPs on the bridge.

The host end of every veth joins the bridge; the bridge holds the gateway address and the
Service ClusterIPs, so the host (the test process) reaches pods directly. Pods reach
Services through DNAT rules in their own network namespace (servicenat.py, `on_attach`),
or, without `nft`, through the userspace proxy the double runs on the host.
"""

from __future__ import annotations

import ipaddress
import os
import random
import re
import secrets
import subprocess
import threading
from collections.abc import Callable

from chaos.run.rollback import alive

_BRIDGE = re.compile(r"^\d+:\s+(pcd(\d+)x\d+)[:@]")


def ip(*args: str, netns_pid: int | None = None) -> None:
    argv = ["ip", *args]
    if netns_pid is not None:
        argv = ["nsenter", "-t", str(netns_pid), "-n", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(f"{' '.join(argv)}: {done.stderr.strip()}")


def sweep_stale() -> None:
    """Delete bridges left by doubles whose process died (SIGKILLed test runs)."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                         check=False).stdout
    for line in out.splitlines():
        m = _BRIDGE.match(line)
        if m and not alive(int(m[2])):
            subprocess.run(["ip", "link", "del", m[1]], capture_output=True, check=False)


class Network:
    """One /24: .1 gateway, .2-.199 pods, .200-.254 Service ClusterIPs."""

    _counter = 0

    def __init__(self) -> None:
        sweep_stale()
        Network._counter += 1
        self.bridge = f"pcd{os.getpid()}x{Network._counter % 100}"
        used = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True,
                              check=False).stdout
        while True:
            net = ipaddress.ip_network(f"10.{random.randint(200, 249)}."
                                       f"{random.randint(0, 255)}.0/24")
            if str(net.network_address)[:-1] not in used:
                break
        self.net = net
        hosts = list(net.hosts())
        self.gateway = str(hosts[0])
        self._pod_pool = [str(h) for h in hosts[1:199]]
        self._svc_pool = [str(h) for h in hosts[199:253]]
        self._lock = threading.Lock()
        self._sticky: dict[str, str] = {}  # StatefulSet ordinal key -> IP
        self.on_attach: Callable[[int], None] | None = None  # e.g. load the Service rules
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def close(self) -> None:
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)

    # ------------------------------------------------------------------ addresses
    def pod_ip(self, sticky: str | None) -> str:
        with self._lock:
            if sticky is not None and sticky in self._sticky:
                return self._sticky[sticky]
            taken = set(self._sticky.values())
            for addr in self._pod_pool:
                if addr not in taken:
                    self._pod_pool.remove(addr)
                    if sticky is not None:
                        self._sticky[sticky] = addr
                    return addr
        raise OSError("the double's pod network is full")

    def release_pod_ip(self, addr: str, sticky: str | None) -> None:
        if sticky is None:
            with self._lock:
                self._pod_pool.append(addr)

    def service_ip(self) -> str:
        with self._lock:
            addr = self._svc_pool.pop(0)
        ip("addr", "add", f"{addr}/32", "dev", self.bridge)
        return addr

    def release_service_ip(self, addr: str) -> None:
        subprocess.run(["ip", "addr", "del", f"{addr}/32", "dev", self.bridge],
                       capture_output=True, check=False)
        with self._lock:
            self._svc_pool.append(addr)

    # ------------------------------------------------------------------ pods
    def attach(self, netns_pid: int, addr: str) -> None:
        """Give the network namespace of `netns_pid` an eth0 with `addr` on the bridge."""
        tag = secrets.token_hex(4)
        host, peer = f"pcv{tag}", f"pcp{tag}"
        ip("link", "add", host, "type", "veth", "peer", "name", peer)
        ip("link", "set", peer, "netns", str(netns_pid))
        ip("link", "set", host, "master", self.bridge, "up")
        ip("link", "set", "lo", "up", netns_pid=netns_pid)
        ip("link", "set", peer, "name", "eth0", netns_pid=netns_pid)
        ip("addr", "add", f"{addr}/24", "dev", "eth0", netns_pid=netns_pid)
        ip("link", "set", "eth0", "up", netns_pid=netns_pid)
        ip("route", "add", "default", "via", self.gateway, netns_pid=netns_pid)
        if self.on_attach is not None:
            self.on_attach(netns_pid)
