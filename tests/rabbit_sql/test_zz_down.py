"""Runs last in this directory (file order): stopping the shared servers leaves nothing
running, epmd and PostgreSQL's own children included."""

from __future__ import annotations

import time

from chaos.platforms.local import LocalPlatform
from tests.rabbit_sql.conftest import server_processes


def test_down_leaves_nothing_running(servers: LocalPlatform) -> None:
    running = server_processes(servers.run_dir)
    for name in ("epmd", "beam", "postgres"):
        assert any(name in p for p in running), (name, running)
    servers.down()  # the fixture's own down() is then a no-op
    deadline = time.monotonic() + 10  # postgres' children leave once the postmaster is gone
    while server_processes(servers.run_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server_processes(servers.run_dir) == []
