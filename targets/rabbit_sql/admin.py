"""The consumer's admin port: readiness, counters, and crash points a fault can arm.

`POST /crash {"point": P}` arms a SIGKILL of this process when the next message reaches P;
`DELETE /crash` disarms. The points are the windows where a dying consumer can lose or
duplicate work: `before-effects` (delivered, nothing written), `after-effects-before-ack`
(committed, not acknowledged), `after-ack`. The same HTTP contract as pipechaos's `pod.crash`
fault expects (docs/contracts.md), implemented here on its own.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

POINTS = ("before-effects", "after-effects-before-ack", "after-ack")


class Admin:
    """State shared between the consumer loop and the admin HTTP thread."""

    def __init__(self, pod: str) -> None:
        self.pod = pod
        self.ready = False  # connected to the broker and the database, topology declared
        self.armed: str | None = None
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[what] += n

    def at(self, point: str, order_id: int) -> None:
        """Die here if this point is armed (the consumer calls it at each point)."""
        if self.armed == point:
            print(f"crash point {point} reached at order {order_id}: SIGKILL", file=sys.stderr,
                  flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"pod": self.pod, "ready": self.ready, "armed": self.armed,
                    "counts": dict(self.counts)}


def serve(admin: Admin, port: int) -> ThreadingHTTPServer:
    """The admin API on 127.0.0.1:`port`, in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: dict[str, Any] | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._send(200 if admin.ready else 503)
            elif self.path == "/status":
                self._send(200, admin.status())
            else:
                self._send(404)

        def do_POST(self) -> None:
            if self.path != "/crash":
                self._send(404)
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                point = json.loads(self.rfile.read(length) or b"{}").get("point")
            except (ValueError, AttributeError):
                point = None
            if point not in POINTS:
                self._send(400, {"error": f"unknown crash point {point!r}", "known": POINTS})
                return
            # answer first: once armed, the next message may kill us before a late answer
            self._send(200, {"armed": point})
            admin.armed = point

        def do_DELETE(self) -> None:
            if self.path != "/crash":
                self._send(404)
                return
            admin.armed = None
            self._send(200, {"armed": None})

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
