"""`address_mode: port-forward`: a loopback listener per address; every connection it
accepts opens its own `pods/portforward` websocket to the pod that holds the slot *now*,
so clients follow a killed pod to its replacement (kubectl port-forward does not).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chaos.platforms.kubernetes.client import Cluster

log = logging.getLogger(__name__)
Locate = Callable[[], tuple[str, int]]  # -> (pod name, port) at connect time
CACHE_S = 2.0  # how long a looked-up pod is reused without asking the API again


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
        self._where: tuple[str, int] | None = None  # the last pod found, while it answers
        self._where_at = 0.0
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
            pod, port = self._located()
            pf = self.cluster.port_forward(self.namespace, pod, port)
            remote = pf.socket(port)
            remote.setblocking(True)
            if not _pump(conn, remote, self._closed):
                self._where = None  # the pod sent nothing: look it up again next time
        except Exception as exc:
            self._where = None
            log.debug("port-forward %s: %s", self.what, exc)
        finally:
            with self._lock:
                self._conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()
            if pf is not None:
                with contextlib.suppress(Exception):
                    pf.close()

    def _located(self) -> tuple[str, int]:
        """The pod to forward to: looked up again after a failure or after CACHE_S."""
        where = self._where
        if where is None or time.monotonic() - self._where_at > CACHE_S:
            where = self._where = self.locate()
            self._where_at = time.monotonic()
        return where

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _pump(a: socket.socket, b: Any, closed: threading.Event) -> bool:
    """Copy bytes both ways until either side closes; whether the pod side sent anything."""
    answered = False
    with selectors.DefaultSelector() as sel:  # epoll: no 1024-descriptor limit
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        while not closed.is_set():
            for key, _ in sel.select(0.5):
                src, dst = key.fileobj, key.data
                try:
                    data = src.recv(65536)  # type: ignore[union-attr]
                except OSError:
                    return answered
                if not data:
                    return answered
                answered = answered or src is b
                dst.sendall(data)
    return answered
