"""The PyPI `toxiproxy-python` client (process-global address) works against our server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer

from tests.proxy.conftest import Server
from tests.proxy.upstreams import Upstream, connect, rtt


@pytest.fixture
def tp(server: Server) -> Iterator[Toxiproxy]:
    host, port = server.api.removeprefix("http://").split(":")
    saved = (APIConsumer.host, APIConsumer.port)
    APIConsumer.host, APIConsumer.port = host, int(port)
    yield Toxiproxy()
    APIConsumer.host, APIConsumer.port = saved


def test_toxiproxy_python_roundtrip(tp: Toxiproxy, echo_up: Upstream) -> None:
    assert tp.running()
    assert b"2." in tp.version()
    proxy = tp.create(upstream=echo_up.address, name="compat")
    assert "compat" in tp.proxies()
    listen = proxy.listen
    proxy.add_toxic(type="latency", attributes={"latency": 100})
    assert set(proxy.toxics()) == {"latency_downstream"}
    with connect(listen) as s:
        assert rtt(s) >= 0.1
    proxy.destroy_toxic("latency_downstream")
    proxy.disable()
    with pytest.raises(ConnectionRefusedError):
        connect(listen)
    proxy.enable()
    with connect(listen) as s:
        assert rtt(s) < 0.5
    assert tp.destroy(proxy)
    assert "compat" not in tp.proxies()
