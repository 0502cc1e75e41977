"""A real redis-server on a free loopback port, per test (tests/redisproc.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redisproc import running_redis


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[int]:
    with running_redis(tmp_path / "redis") as port:
        yield port
