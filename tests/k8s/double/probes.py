"""Readiness probes as the kubelet runs them: httpGet, tcpSocket, exec; thresholds count
consecutive results. Probes run every 0.2 s whatever `periodSeconds` says (test speed)."""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
from collections.abc import Callable
from typing import Any

from tests.k8s.double import podspec
from tests.k8s.double.store import Obj

EVERY_S = 0.2
Spec = dict[str, Any]


def probe(pod: Obj, ip: str, spec: Spec, nsenter: list[str]) -> bool:
    """One probe from the node (the host) to the pod IP, or exec inside the pod."""
    timeout = float(spec.get("timeoutSeconds", 1))
    try:
        if "httpGet" in spec:
            h = spec["httpGet"]
            port = podspec.port_number(pod, h["port"])
            conn: http.client.HTTPConnection
            if h.get("scheme", "HTTP").upper() == "HTTPS":
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE  # the kubelet does not verify either
                conn = http.client.HTTPSConnection(ip, port, timeout=timeout, context=ctx)
            else:
                conn = http.client.HTTPConnection(ip, port, timeout=timeout)
            try:
                conn.request("GET", h.get("path", "/"))
                return 200 <= conn.getresponse().status < 400
            finally:
                conn.close()
        if "tcpSocket" in spec:
            port = podspec.port_number(pod, spec["tcpSocket"]["port"])
            with socket.create_connection((ip, port), timeout=timeout):
                return True
        if "exec" in spec:
            done = subprocess.run(nsenter + spec["exec"]["command"], capture_output=True,
                                  timeout=timeout, check=False)
            return done.returncode == 0
    except (OSError, http.client.HTTPException, subprocess.TimeoutExpired, KeyError):
        return False
    return True


class Readiness:
    """Ready after `successThreshold` successes in a row, not ready after
    `failureThreshold` failures in a row (defaults 1 and 3, as Kubernetes)."""

    def __init__(self, spec: Spec | None) -> None:
        self.spec = spec
        self.ready = False
        self._run = 0  # consecutive results contradicting the current state

    def observe(self, ran_s: float, run: Callable[[Spec], bool]) -> bool:
        """Probe once; True when the Ready state changed."""
        if self.spec is None:
            changed = not self.ready
            self.ready = True
            return changed
        if ran_s < float(self.spec.get("initialDelaySeconds", 0)):
            return False
        ok = run(self.spec)
        if ok == self.ready:
            self._run = 0
            return False
        self._run += 1
        need = int(self.spec.get("successThreshold" if ok else "failureThreshold", 1 if ok else 3))
        if self._run >= need:
            self.ready, self._run = ok, 0
            return True
        return False
