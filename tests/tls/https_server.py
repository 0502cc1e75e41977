"""A tiny HTTPS server that behaves like a pipechaos TLS pod: reads PIPECHAOS_POD for its
port and certificate files, answers `GET /` with 200, and reloads its certificate on SIGHUP.

Run as `python -m tests.tls.https_server` (tests start it as a real process and signal it);
it also serves as a component command under the local platform.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ReloadingTLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, cert: str, key: str) -> None:
        self.cert, self.key = cert, key
        self.lock = threading.Lock()
        self.context = self.load()
        super().__init__(("127.0.0.1", port), Handler)

    def load(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def reload(self, signum: int, frame: FrameType | None) -> None:
        try:
            fresh = self.load()
        except (OSError, ssl.SSLError) as exc:  # keep serving the old one, as servers do
            print(f"reload failed: {exc}", file=sys.stderr, flush=True)
            return
        with self.lock:
            self.context = fresh
        print("reloaded certificate", file=sys.stderr, flush=True)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        with self.lock:
            ctx = self.context
        # handshake in the handler thread, so a stalled client never blocks accept()
        return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(5.0)
        try:
            request.do_handshake()
        except (OSError, ssl.SSLError):
            return  # rejected by the client, or stalled: nothing to serve
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # failed handshakes are the point of the tests


def main() -> None:
    pod = json.loads(os.environ["PIPECHAOS_POD"])
    server = ReloadingTLSServer(int(pod["ports"]["https"]), pod["tls"]["cert"], pod["tls"]["key"])
    signal.signal(signal.SIGHUP, server.reload)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("serving", file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
