"""Cluster DNS as one /etc/hosts file per namespace, bind-mounted into that namespace's pods.

Files are rewritten in place (same inode), so a pod sees new Services without restarting.
"""

from __future__ import annotations

import threading
from pathlib import Path

from tests.k8s.double.store import Store

DOMAIN = "svc.cluster.local"


class Dns:
    def __init__(self, store: Store, directory: Path) -> None:
        self.store = store
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def resolv_conf(self) -> Path:
        """No DNS server in the pod's network: lookups beyond /etc/hosts fail at once."""
        path = self.dir / "resolv.conf"
        if not path.exists():
            path.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        return path

    def hosts_file(self, ns: str) -> Path:
        path = self.dir / f"{ns}.hosts"
        if not path.exists():
            self._write(ns)
        return path

    def refresh(self) -> None:
        namespaces = {p.name.removesuffix(".hosts") for p in self.dir.glob("*.hosts")}
        for ns in namespaces:
            self._write(ns)

    def _records(self, ns: str) -> list[str]:
        lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
        for svc in self.store.list("services"):
            name, sns = svc["metadata"]["name"], svc["metadata"]["namespace"]
            ip = (svc.get("spec") or {}).get("clusterIP")
            fq = [f"{name}.{sns}", f"{name}.{sns}.svc", f"{name}.{sns}.{DOMAIN}"]
            if ip and ip != "None":
                lines.append(" ".join([ip, *([name] if sns == ns else []), *fq]))
        for pod in self.store.list("pods"):
            spec, st = pod.get("spec") or {}, pod.get("status") or {}
            sub, ip, pns = spec.get("subdomain"), st.get("podIP"), pod["metadata"]["namespace"]
            if sub and ip and not pod["metadata"].get("deletionTimestamp"):
                host = spec.get("hostname") or pod["metadata"]["name"]
                fq = [f"{host}.{sub}.{pns}", f"{host}.{sub}.{pns}.svc",
                      f"{host}.{sub}.{pns}.{DOMAIN}"]
                lines.append(" ".join([ip, *([f"{host}.{sub}"] if pns == ns else []), *fq]))
        return lines

    def _write(self, ns: str) -> None:
        text = "\n".join(self._records(ns)) + "\n"
        path = self.dir / f"{ns}.hosts"
        with self._lock:
            if path.exists() and path.read_text() == text:
                return
            with open(path, "a+") as out:  # same inode: the pods' bind mounts see it
                out.seek(0)
                out.truncate()
                out.write(text)
