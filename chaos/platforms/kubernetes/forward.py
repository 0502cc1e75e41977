"""`address_mode: port-forward`: a loopback listener per address; every connection it
accepts opens its own `pods/portforward` websocket to the pod that holds the slot *now*,
so clients follow a killed pod to its replacement (kubectl port-forward does not).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chaos.platforms.kubernetes.client import Cluster

log = logging.getLogger(__name__)
Locate = Callable[[], tuple[str, int]]  # -> (pod name, port) at connect time


class Forwarder:
    """127.0.0.1:<port> -> pod:port through the API server."""

    def __init__(self, cluster: Cluster, namespace: str, locate: Locate, what: str) -> None:
        self.cluster, self.namespace, self.locate, self.what = cluster, namespace, locate, what
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = int(self._server.getsockname()[1])
        self._closed = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name=f"port-forward {what}", daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        pf: Any = None
        with self._lock:
            self._conns.add(conn)
        try:
            pod, port = self.locate()
            pf = self.cluster.port_forward(self.namespace, pod, port)
            remote = pf.socket(port)
            remote.setblocking(True)
            _pump(conn, remote, self._closed)
        except Exception as exc:
            log.debug("port-forward %s: %s", self.what, exc)
        finally:
            with self._lock:
                self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()
            if pf is not None:
                with contextlib.suppress(Exception):
                    pf.close()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _pump(a: socket.socket, b: Any, closed: threading.Event) -> None:
    """Copy bytes both ways until either side closes."""
    peers = {a.fileno(): (a, b), b.fileno(): (b, a)}
    while not closed.is_set():
        ready, _, _ = select.select(list(peers), [], [], 0.5)
        for fd in ready:
            src, dst = peers[fd]
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            dst.sendall(data)
