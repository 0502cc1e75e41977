"""One real RabbitMQ and one real PostgreSQL, started once for this directory's tests by the
local platform (targets/rabbit_sql/rabbitmq.py and postgres.py), with a proxy in front of the
broker. Starting them takes tens of seconds, so they are shared; each test uses its own queue
or table."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.platforms.local import LocalPlatform
from chaos.spec.models import TargetSpec
from chaos.spec.structs import decode
from tests.system import require_package

SERVERS = {
    "apiVersion": "pipechaos/v1", "kind": "Target", "metadata": {"name": "rabbit-sql-servers"},
    "platform": {"type": "local", "settings": {"grace": "20s"}},
    "proxy_server": "embedded",
    "components": [
        {"name": "broker", "labels": {"app": "rabbitmq", "tier": "broker"},
         "command": ["python", "-m", "targets.rabbit_sql.rabbitmq"],
         "ports": ["amqp", "http", "epmd", "dist"],
         "ready": {"tcp": "http", "timeout": "180s"}},
        {"name": "db", "labels": {"app": "postgres", "tier": "service"},
         "command": ["python", "-m", "targets.rabbit_sql.postgres"],
         "ports": ["pg", "admin"],
         "ready": {"http": "admin", "path": "/healthz", "timeout": "180s"}},
    ],
    "proxies": [{"name": "producer-broker", "listen": "auto",
                 "upstream": "${component:broker/amqp}"}],
}


def server_pids(run_dir: Path) -> dict[int, str]:
    """Live processes started for `run_dir`'s servers (incl. epmd): pid -> command line."""
    import psutil

    found = {}
    for proc in psutil.process_iter(["cmdline", "environ", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            text = " ".join(proc.info["cmdline"] or []) + str(proc.info["environ"] or "")
        except (psutil.Error, OSError):
            continue
        if str(run_dir) in text:
            found[proc.pid] = " ".join(proc.info["cmdline"] or [])[:120]
    return found


def server_processes(run_dir: Path) -> list[str]:
    """Command lines of live processes started for `run_dir`'s servers (incl. epmd)."""
    return list(server_pids(run_dir).values())


@pytest.fixture(scope="package")
def servers() -> Iterator[LocalPlatform]:
    require_package("rabbitmq-server", why="the rabbit-sql broker")
    require_package("postgresql", why="the rabbit-sql database")
    # not under pytest's tmp_path (mode 0700): the servers' own users must reach their data
    run_dir = Path(tempfile.mkdtemp(prefix="pipechaos-servers-"))
    run_dir.chmod(0o711)
    platform = LocalPlatform(decode(TargetSpec, SERVERS), run_dir, None)
    try:
        platform.up()
        yield platform
    finally:
        platform.down()
        shutil.rmtree(run_dir, ignore_errors=True)
