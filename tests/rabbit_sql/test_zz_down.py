"""Runs last in this directory (file order): a KILLed server pod comes back on its data,
leaving nothing of the old one behind, and stopping the shared servers leaves nothing
running, epmd and PostgreSQL's own children included."""

from __future__ import annotations

import time

import psycopg

from chaos.platforms.local import LocalPlatform
from tests.rabbit_sql.conftest import server_pids, server_processes


def test_killed_servers_restart_on_their_data(servers: LocalPlatform) -> None:
    url = f"postgresql://postgres@{servers.resolve('${component:db/pg}')}/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE survives (x int)")
        conn.execute("INSERT INTO survives VALUES (42)")
    before = server_pids(servers.run_dir)
    for selector in ({"app": "postgres"}, {"app": "rabbitmq"}):
        (old,) = servers.pods(selector)
        servers.kill(old, "KILL", 0)
        new = servers.wait_replacement(old, 180)
        assert new.name != old.name
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT x FROM survives").fetchall() == [(42,)]
        conn.execute("DROP TABLE survives")
    deadline = time.monotonic() + 10  # orphans of the killed servers leave by themselves
    while set(server_pids(servers.run_dir)) & set(before) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = {pid: cmd for pid, cmd in server_pids(servers.run_dir).items() if pid in before}
    assert left == {}
    assert sum("epmd" in p for p in server_processes(servers.run_dir)) == 1


def test_down_leaves_nothing_running(servers: LocalPlatform) -> None:
    running = server_processes(servers.run_dir)
    for name in ("epmd", "beam", "postgres"):
        assert any(name in p for p in running), (name, running)
    servers.down()  # the fixture's own down() is then a no-op
    deadline = time.monotonic() + 10  # postgres' children leave once the postmaster is gone
    while server_processes(servers.run_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server_processes(servers.run_dir) == []
