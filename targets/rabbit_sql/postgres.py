"""The database pod: exec Debian's PostgreSQL on a loopback port, data in the run directory.

initdb runs once per slot (the data survives a pod kill, as a real volume would); the server
runs as `postgres` (when we are root) in this process group. The postmaster's own children
start their own sessions, so a KILL of the group reaches only the postmaster; they notice its
death and exit by themselves. fsync and synchronous_commit stay on: a commit is durable.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg

from targets.rabbit_sql.pod import die, load
from targets.rabbit_sql.server import account, drop, own


def bin_dir() -> str:
    """The newest /usr/lib/postgresql/N/bin (Debian keeps the server binaries off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        die("PostgreSQL is not installed (apt-get install postgresql)")
    return os.path.dirname(found[-1])


def accepts_queries(port: int) -> bool:
    """True once the server answers a query (its port opens before crash recovery ends)."""
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                             connect_timeout=1) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def serve_health(admin: int, port: int) -> None:
    """GET /healthz on `admin`: 200 once PostgreSQL accepts queries (the pod's readiness)."""

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/healthz" and accepts_queries(port)
            self.send_response(200 if ok else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", admin), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> None:
    pod = load()
    port = pod.port("pg")
    pgdata = pod.data_dir / "pgdata"
    ids = account("postgres")
    own(pod.data_dir, ids)
    binaries = bin_dir()
    if not (pgdata / "PG_VERSION").exists():
        done = subprocess.run(
            [f"{binaries}/initdb", "-D", str(pgdata), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            preexec_fn=drop(ids), capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            die(f"initdb failed: {done.stderr.strip().splitlines()[-1:]}")
    argv = [
        f"{binaries}/postgres", "-D", str(pgdata), "-p", str(port),
        # TCP only: a Unix socket's path is limited to 107 bytes, which a deep run
        # directory exceeds (the server then refuses to start)
        "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
        "-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "max_connections=100",
        "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning",
    ]
    server = subprocess.Popen(argv, preexec_fn=drop(ids))
    if "admin" in pod.ports:
        serve_health(pod.port("admin"), port)
    # TERM alone is PostgreSQL's "smart" shutdown, which waits for every client to leave;
    # the platform's TERM means "stop now", which is the "fast" shutdown (SIGINT).
    signal.signal(signal.SIGTERM, lambda *_: server.send_signal(signal.SIGINT))
    sys.exit(server.wait())


if __name__ == "__main__":
    main()
