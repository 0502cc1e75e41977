"""Free loopback ports for pods and proxies (no root, no fixed numbers, no clashes).

The kernel picks an ephemeral port; we remember every port handed out in this process so
two slots never get the same one even before their processes bind.
"""

from __future__ import annotations

import socket
import threading

HOST = "127.0.0.1"

_lock = threading.Lock()
_given: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago and not handed out before."""
    with _lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((HOST, 0))
                port = int(sock.getsockname()[1])
            if port not in _given:
                _given.add(port)
                return port
    raise OSError("no free loopback port found")


def accepts(port: int, host: str = HOST, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
