"""Debian's rabbitmq-server or postgresql for the benchmarks, started as the rabbit-sql target
starts them (targets/rabbit_sql/, the local platform), or the address of one already running
(the smoke tests pass the servers of tests/rabbit_sql/conftest.py, so nothing boots twice)."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COMPONENTS = {
    "broker": {"name": "broker", "labels": {"app": "rabbitmq", "tier": "broker"},
               "command": ["python", "-m", "targets.rabbit_sql.rabbitmq"],
               "ports": ["amqp", "http", "epmd", "dist"],
               "ready": {"tcp": "http", "timeout": "180s"}},
    "db": {"name": "db", "labels": {"app": "postgres", "tier": "service"},
           "command": ["python", "-m", "targets.rabbit_sql.postgres"],
           "ports": ["pg", "admin"],
           "ready": {"http": "admin", "path": "/healthz", "timeout": "180s"}},
}
PORT = {"broker": "amqp", "db": "pg"}


@contextlib.contextmanager
def server(component: str, address: str | None) -> Iterator[str]:
    """host:port of the component's main port (amqp or pg): `address` when given, else a
    server started for the benchmark and stopped (by PID, with its epmd) afterwards."""
    if address:
        yield address
        return
    from chaos.platforms.local import LocalPlatform
    from chaos.spec.models import TargetSpec
    from chaos.spec.structs import decode

    spec = {"apiVersion": "pipechaos/v1", "kind": "Target",
            "metadata": {"name": f"bench-{component}"},
            "platform": {"type": "local", "settings": {"grace": "20s"}},
            "components": [COMPONENTS[component]]}
    run_dir = Path(tempfile.mkdtemp(prefix="pipechaos-bench-"))
    run_dir.chmod(0o711)  # the servers' own users must reach their data
    platform = LocalPlatform(decode(TargetSpec, spec), run_dir, None)
    try:
        platform.up()
        yield platform.resolve(f"${{component:{component}/{PORT[component]}}}")
    finally:
        platform.down()
        shutil.rmtree(run_dir, ignore_errors=True)
