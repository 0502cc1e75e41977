"""A TCP probe: connect, send a few bytes, and see what happens within a window.

Used by verify() to show a network fault's effect from a client's point of view. Plain
blocking sockets with timeouts: verify runs in the runner's thread, one probe at a time.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Literal

Event = Literal["refused", "error", "data", "eof", "reset", "silent"]


@dataclass(frozen=True)
class Outcome:
    event: Event
    connect_s: float = 0.0
    first_s: float | None = None  # from send to the first byte or the close/reset
    detail: str = ""


def split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def exchange(address: str, payload: bytes | None, window_s: float,
             connect_timeout_s: float = 3.0) -> Outcome:
    """Connect to `address`, send `payload` (if any) and wait up to `window_s` for anything."""
    start = time.monotonic()
    try:
        sock = socket.create_connection(split(address), timeout=connect_timeout_s)
    except ConnectionRefusedError:
        return Outcome("refused", time.monotonic() - start)
    except (OSError, ValueError) as exc:
        return Outcome("error", time.monotonic() - start, detail=str(exc))
    connect_s = time.monotonic() - start
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sent = time.monotonic()
        if payload:
            sock.sendall(payload)
        sock.settimeout(max(window_s, 0.001))
        try:
            data = sock.recv(4096)
        except TimeoutError:
            return Outcome("silent", connect_s)
        except ConnectionResetError:
            return Outcome("reset", connect_s, time.monotonic() - sent)
        except OSError as exc:
            return Outcome("error", connect_s, time.monotonic() - sent, str(exc))
        return Outcome("data" if data else "eof", connect_s, time.monotonic() - sent)
    finally:
        sock.close()
