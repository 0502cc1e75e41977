"""Readiness probes of a local pod: a TCP port accepts, or an HTTP(S) GET answers 200."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Callable
from pathlib import Path

from chaos.platforms.ports import HOST, accepts


def tcp(port: int) -> Callable[[], bool]:
    return lambda: accepts(port)


def http_get(port: int, path: str, ca_file: Path | None = None) -> Callable[[], bool]:
    """GET `path` answers 200; over TLS (trusting the deployment CA) when ca_file is set."""

    def probe() -> bool:
        conn: http.client.HTTPConnection
        if ca_file is not None:
            ctx = ssl.create_default_context(cafile=str(ca_file))
            ctx.check_hostname = False  # readiness only: the name is the TLS faults' business
            conn = http.client.HTTPSConnection(HOST, port, timeout=0.5, context=ctx)
        else:
            conn = http.client.HTTPConnection(HOST, port, timeout=0.5)
        try:
            conn.request("GET", path)
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    return probe


def always() -> bool:
    """No readiness spec: a started process is ready."""
    return True
