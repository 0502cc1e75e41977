"""A throwaway replicated redis for tests: a primary, a replica and one Sentinel.

Real processes of the binary the product uses (targets/reference/broker.py), the sentinel
config written by the Sentinel pod's own code (targets/reference/sentinel_pod.py).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from targets.reference.broker import find_redis_server
from targets.reference.pod import PodConfig
from targets.reference.sentinel_pod import config_text
from tests.redisproc import free_port


@dataclass(frozen=True)
class Ha:
    primary: int
    replica: int
    sentinel: int


def _wait(port: int, link: bool = False, timeout_s: float = 10.0) -> None:
    """Until redis on `port` answers (with `link`: until its link to its primary is up)."""
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, decode_responses=True)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if not link:
                client.ping()
                break
            if client.info("replication").get("master_link_status") == "up":
                break
        except redis.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"redis on {port} not ready")
        time.sleep(0.02)
    client.close()


@contextlib.contextmanager
def running_ha(tmp: Path) -> Iterator[Ha]:
    """Primary + replica (in sync) + one Sentinel (quorum 1) on free loopback ports."""
    binary = find_redis_server()
    ha = Ha(free_port(), free_port(), free_port())
    procs: list[subprocess.Popen[bytes]] = []
    base = [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    try:
        for port, extra in ((ha.primary, []),
                            (ha.replica, ["--replicaof", "127.0.0.1", str(ha.primary)])):
            data = tmp / f"redis-{port}"
            data.mkdir(parents=True)
            procs.append(subprocess.Popen([*base, "--port", str(port), "--dir", str(data), *extra],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            _wait(port)
        _wait(ha.replica, link=True)
        pod = PodConfig(name="sentinel-0", component="sentinel", index=0,
                        ports={"sentinel": ha.sentinel}, data_dir=tmp / "sentinel",
                        settings={"monitor": f"127.0.0.1:{ha.primary}", "quorum": 1})
        pod.data_dir.mkdir()
        conf = pod.data_dir / "sentinel.conf"
        conf.write_text(config_text(pod))
        procs.append(subprocess.Popen([binary, str(conf), "--sentinel"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait(ha.sentinel)
        yield ha
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
