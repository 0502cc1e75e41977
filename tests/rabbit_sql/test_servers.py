"""The local platform runs Debian's RabbitMQ and PostgreSQL as unprivileged processes with
their data in the run directory; test_zz_down.py checks that down() leaves nothing running."""

from __future__ import annotations

import os
import pwd

import httpx
import psycopg
import pytest

from chaos.platforms.local import LocalPlatform


def test_servers_answer_as_their_own_users_with_data_in_the_run_dir(
    servers: LocalPlatform,
) -> None:
    data = servers.pods_dir / "data"
    assert (data / "db-0" / "pgdata" / "PG_VERSION").exists()
    assert (data / "broker-0" / "mnesia").is_dir()
    with psycopg.connect(f"postgresql://postgres@{servers.resolve('${component:db/pg}')}"
                         "/postgres", connect_timeout=10) as conn:
        assert conn.execute("select current_user").fetchone() == ("postgres",)
    api = f"http://{servers.resolve('${component:broker/http}')}/api/overview"
    overview = httpx.get(api, auth=("guest", "guest"), timeout=10).json()
    assert overview["listeners"][0]["port"] == int(
        servers.resolve("${component:broker/amqp}").rsplit(":", 1)[1])
    if os.geteuid() == 0:  # as root, each server runs as its own Debian user
        import psutil

        users = {p.username() for pod in servers.pods({})
                 for p in psutil.Process(pod.pid).children(recursive=True)}
        assert {"postgres", "rabbitmq"} <= users
        assert (data / "db-0" / "pgdata").stat().st_uid == pwd.getpwnam("postgres").pw_uid
        assert (data / "broker-0" / "mnesia").stat().st_uid == pwd.getpwnam("rabbitmq").pw_uid


@pytest.mark.parametrize("package", ["rabbitmq-server", "postgresql"])
def test_packages_are_listed_for_make_test(package: str) -> None:
    from tests.system import needs

    assert package in needs()
