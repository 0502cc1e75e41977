"""The broker pod: Debian's RabbitMQ with its own epmd, on loopback ports, data in the run dir.

This process starts `epmd` on the pod's `epmd` port (ERL_EPMD_PORT, so it never meets a
system-wide epmd) and then the server, both as `rabbitmq` when we are root, both in this
process group: the platform's signals (sent to the group) reach them, and nothing outlives a
stop. A TERM lets RabbitMQ shut down cleanly; this process exits after it, then stops epmd.
The management plugin serves the queue counts that the RabbitMQ probes read.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from targets.rabbit_sql.pod import Pod, die, load
from targets.rabbit_sql.server import account, drop, own

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
EPMD_CANDIDATES = ("/usr/bin/epmd", "/usr/lib/erlang/bin/epmd")


def config(pod: Pod) -> str:
    """rabbitmq.conf: loopback only, guest allowed from loopback, counts refreshed each 0.5s."""
    heartbeat = int(pod.settings.get("heartbeat", 10))
    return "\n".join([
        f"listeners.tcp.default = 127.0.0.1:{pod.port('amqp')}",
        f"management.tcp.port = {pod.port('http')}",
        "management.tcp.ip = 127.0.0.1",
        "collect_statistics_interval = 500",
        f"heartbeat = {heartbeat}",
        "disk_free_limit.absolute = 50MB",
        "log.console = true",
        "log.console.level = warning",
        "log.file = false",
        "",
    ])


def environment(pod: Pod, data: Path) -> dict[str, str]:
    (data / "rabbitmq.conf").write_text(config(pod))
    (data / "enabled_plugins").write_text("[rabbitmq_management].\n")
    (data / "rabbitmq-env.conf").write_text("")
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    return {
        **keep,
        "HOME": str(data),  # the Erlang cookie lives here
        "RABBITMQ_NODENAME": "rabbit@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(pod.port("amqp")),
        "RABBITMQ_DIST_PORT": str(pod.port("dist")),
        "ERL_EPMD_PORT": str(pod.port("epmd")),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_CONF_ENV_FILE": str(data / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(data / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(data / "advanced.config"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(data / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(data / "mnesia"),
        "RABBITMQ_LOG_BASE": str(data / "log"),
        "RABBITMQ_PLUGINS_EXPAND_DIR": str(data / "plugins-expand"),
        "RABBITMQ_PID_FILE": str(data / "rabbit.pid"),
        "RABBITMQ_LOGS": "-",
    }


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            die(f"epmd exited with {proc.returncode} (port {port} taken?)")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    die(f"epmd did not listen on port {port} within {timeout_s:g}s")


def main() -> None:
    pod = load()
    if not os.path.exists(SERVER):
        die("RabbitMQ is not installed (apt-get install rabbitmq-server)")
    epmd = next((p for p in EPMD_CANDIDATES if os.path.exists(p)), None)
    if epmd is None:
        die("epmd not found (it comes with erlang-base)")
    data = pod.data_dir
    env = environment(pod, data)
    ids = account("rabbitmq")
    own(data, ids)
    signal.signal(signal.SIGTERM, lambda *_: None)  # the group got it too: wait for the server
    epmd_proc = subprocess.Popen(
        [epmd, "-port", str(pod.port("epmd")), "-address", "127.0.0.1"],
        env=env, preexec_fn=drop(ids), stdout=subprocess.DEVNULL,
    )
    code = 1
    try:
        wait_listening(pod.port("epmd"), epmd_proc, 10.0)
        server = subprocess.Popen([SERVER], env=env, preexec_fn=drop(ids), cwd=data)
        code = server.wait()
    finally:
        if epmd_proc.poll() is None:
            epmd_proc.terminate()
        epmd_proc.wait()
    sys.exit(code)


if __name__ == "__main__":
    main()
