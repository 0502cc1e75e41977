"""A tiny test pod for the local platform's tests (not the reference pipeline).

Reads PIPECHAOS_POD, records it in <data_dir>/pod-<name>.json, then serves according to
settings.mode: `http` (GET /healthz, POST /crash arms a self-SIGKILL on the next
"message", DELETE /crash disarms; a message is processed every 50 ms, never with `idle`),
`tls` (HTTPS, reloads cert/key on SIGHUP), or `tcp` (accepts and closes). Optional
settings: `exit_after` (seconds), `fail` (exit 3 at once), `child` (fork a grandchild
sleeper), `ignore_term`.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

POD = json.loads(os.environ["PIPECHAOS_POD"])
SETTINGS = POD["settings"]
DATA = Path(POD["data_dir"])
ARMED: list[str] = []


def log(text: str) -> None:
    print(f"{POD['name']}: {text}", flush=True)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"name": POD["name"], "pid": os.getpid()}).encode()
        self.send_response(200 if self.path in ("/healthz", "/status") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        point = json.loads(self.rfile.read(length) or b"{}").get("point", "")
        if self.path == "/crash" and point:
            ARMED.append(point)
            log(f"armed {point}")
            self.send_response(200)
        else:
            self.send_response(400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_DELETE(self) -> None:
        ARMED.clear()
        log("disarmed")
        self.send_response(200 if self.path == "/crash" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def messages() -> None:
    """The 'work loop': a message every 50 ms; an armed crash point kills us on the next."""
    while True:
        time.sleep(0.05)
        if ARMED and not SETTINGS.get("idle"):
            log(f"crash at {ARMED[0]}")
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / f"pod-{POD['name']}.json").write_text(json.dumps(POD))
    log(f"started pid {os.getpid()}")
    if SETTINGS.get("fail"):
        print("error: told to fail", flush=True)
        raise SystemExit(3)
    if SETTINGS.get("ignore_term"):
        signal.signal(signal.SIGTERM, lambda *_: log("ignoring TERM"))
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if SETTINGS.get("child"):
        child = subprocess.Popen(["sleep", "1000"])
        (DATA / "child.pid").write_text(str(child.pid))
    if "exit_after" in SETTINGS:
        threading.Timer(float(SETTINGS["exit_after"]), lambda: os._exit(1)).start()
    mode = SETTINGS.get("mode", "http")
    port = next(iter(POD["ports"].values()))
    if mode == "tcp":
        server = socket.create_server(("127.0.0.1", port))
        while True:
            conn, _ = server.accept()
            conn.close()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    if mode == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(POD["tls"]["cert"], POD["tls"]["key"])

        def reload(*_: object) -> None:
            ctx.load_cert_chain(POD["tls"]["cert"], POD["tls"]["key"])
            log("reloaded certificate")

        signal.signal(signal.SIGHUP, reload)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=messages, daemon=True).start()
    httpd.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
