"""Real TCP upstreams on loopback for the proxy tests (threads, free ports)."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Upstream:
    """A threaded TCP server running `handler(sock, self)` per connection."""

    def __init__(self, handler: Callable[[socket.socket, Upstream], None]) -> None:
        owner = self

        class _H(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with contextlib.suppress(OSError):
                    handler(self.request, owner)

        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _H)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def note(self, **event: Any) -> None:
        with self.lock:
            self.events.append(event)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def echo(sock: socket.socket, up: Upstream) -> None:
    """Echo everything; on EOF answer `bye` and close (shows half-close works)."""
    while data := sock.recv(1 << 16):
        sock.sendall(data)
    sock.sendall(b"bye")
    sock.close()


def recorder(sock: socket.socket, up: Upstream) -> None:
    """Count bytes until EOF or reset, then note the total and when EOF came."""
    total = 0
    try:
        while data := sock.recv(1 << 16):
            total += len(data)
    except OSError:
        pass
    up.note(bytes=total, eof_at=time.monotonic())
    sock.close()


def sender(payload: bytes) -> Callable[[socket.socket, Upstream], None]:
    """Send `payload` at once, then close."""

    def run(sock: socket.socket, up: Upstream) -> None:
        sock.sendall(payload)
        up.note(closed_at=time.monotonic())
        sock.close()

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connect(address: str, timeout: float = 5.0) -> socket.socket:
    host, _, port = address.rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_all(sock: socket.socket, limit: float = 5.0) -> tuple[bytes, str, float]:
    """Read until EOF/reset/timeout: (data, how it ended, seconds taken)."""
    start = time.monotonic()
    sock.settimeout(limit)
    chunks = []
    try:
        while data := sock.recv(1 << 16):
            chunks.append(data)
        end = "eof"
    except ConnectionResetError:
        end = "reset"
    except TimeoutError:
        end = "open"
    return b"".join(chunks), end, time.monotonic() - start


def rtt(sock: socket.socket, payload: bytes = b"x") -> float:
    start = time.monotonic()
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        data = sock.recv(1 << 16)
        if not data:
            raise ConnectionError("closed during round trip")
        got += data
    return time.monotonic() - start
