"""Fixtures for the load tests: a real redis-server (found as the
product finds it) on a free loopback port, a forwarder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.redisproc import running_redis

from .forwarder import TcpForwarder


class RedisServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.address = f"127.0.0.1:{port}"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)

    def stream_ids(self, stream: str = "orders") -> list[int]:
        """order_id of every entry in the stream, in stream order."""
        out: list[int] = []
        for _, fields in self.client().xrange(stream):
            out.append(int(fields[b"order_id"]))
        return out


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path / "redis") as port:
        yield RedisServer(port)


@pytest.fixture
def forwarder(redis_server: RedisServer) -> Iterator[TcpForwarder]:
    fwd = TcpForwarder(redis_server.port)
    try:
        yield fwd
    finally:
        fwd.close()
