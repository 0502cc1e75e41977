"""A real HTTP server on a free loopback port, per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import HttpServer


@pytest.fixture
def server() -> Iterator[HttpServer]:
    srv = HttpServer()
    yield srv
    srv.close()
