"""Services in the kernel, as kube-proxy's nftables mode: every pod's network namespace gets
DNAT rules from each Service's ClusterIP:port to its Ready endpoints.

Why: the userspace proxy (kubeproxy.py) copies every byte through the test process, whose
one event loop shares the GIL with the API server and the kubelet; under the reference
pipeline's traffic on a loaded machine its connections timed out. In the kernel a Service
hop costs what a real cluster's costs.

Why in each pod's namespace and not on the host: the host's netfilter is shared with
everything else on the machine, and forwarding through the host would need `ip_forward` and
masquerading. DNAT at the client's OUTPUT hook sends the packet straight to the endpoint over
the bridge and the client's conntrack maps the replies back (on a node, kube-proxy does the
same for pod traffic in the host's namespace). A Service without a Ready endpoint rejects
(TCP reset), like kube-proxy. Established connections keep their endpoint, as with conntrack
on a node. The host (the test process) still reaches ClusterIPs through the userspace proxy.

Needs `nft` (Debian package nftables); without it pods fall back to the userspace proxy.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
from pathlib import Path

from tests.k8s.double.kubeproxy import endpoints
from tests.k8s.double.store import Store

TABLE = "pipechaos-svc"


def available() -> bool:
    return shutil.which("nft") is not None


def ruleset(store: Store) -> str:
    """The nft script for the Services in `store` (the same in every pod: ClusterIPs are
    cluster-wide). Replaces the table atomically (one transaction)."""
    nat: list[str] = []
    reject: list[str] = []
    for svc in sorted(store.list("services"),
                      key=lambda s: (s["metadata"]["namespace"], s["metadata"]["name"])):
        ip = svc["spec"].get("clusterIP")
        if not ip or ip == "None" or not svc["spec"].get("selector"):
            continue
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        for port in svc["spec"].get("ports") or []:
            match = f"ip daddr {ip} tcp dport {int(port['port'])}"
            backends = endpoints(store, ns, name, int(port["port"]))
            if not backends:
                reject.append(f"    {match} reject with tcp reset")
            elif len(backends) == 1:
                host, target = backends[0]
                nat.append(f"    {match} dnat ip to {host}:{target}")
            else:
                pairs = ", ".join(f"{i} : {h} . {p}" for i, (h, p) in enumerate(backends))
                nat.append(f"    {match} dnat ip addr . port to numgen random mod "
                           f"{len(backends)} map {{ {pairs} }}")
    return "\n".join([
        f"table ip {TABLE}", f"delete table ip {TABLE}", f"table ip {TABLE} {{",
        "  chain nat-out {", "    type nat hook output priority -100; policy accept;", *nat,
        "  }", "  chain filter-out {", "    type filter hook output priority 0; policy accept;",
        *reject, "  }", "}", ""])


class ServiceNat:
    """Keeps the ruleset of every pod network namespace current."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.enabled = available()
        self._lock = threading.Lock()
        self._script = ruleset(store) if self.enabled else ""
        self._applied: dict[int, str] = {}  # netns pid -> script last loaded there

    def attach(self, netns_pid: int) -> None:
        """A new pod network namespace: load the current rules before its program runs."""
        if not self.enabled:
            return
        with self._lock:
            script = self._script
            self._applied[netns_pid] = script
        load(netns_pid, script)

    def sync(self) -> None:
        """After a reconcile: recompute; reload where it changed; forget dead namespaces."""
        if not self.enabled:
            return
        script = ruleset(self.store)
        with self._lock:
            self._script = script
            stale = [(pid, s) for pid, s in self._applied.items() if s != script]
        for pid, _ in stale:
            if not Path(f"/proc/{pid}").exists():
                with self._lock:
                    self._applied.pop(pid, None)
                continue
            with contextlib.suppress(OSError):
                load(pid, script)
                with self._lock:
                    if pid in self._applied:
                        self._applied[pid] = script


def load(netns_pid: int, script: str) -> None:
    done = subprocess.run(["nsenter", "-t", str(netns_pid), "-n", "nft", "-f", "-"],
                          input=script, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise OSError(f"nft in the netns of {netns_pid}: {done.stderr.strip()}")
