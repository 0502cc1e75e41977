"""The thin client: every call, typed errors, timeouts, and an unreachable server."""

from __future__ import annotations

import socket
import time

import pytest

from chaos.proxy.client import (
    AlreadyExists,
    BadRequest,
    ProxyNotFound,
    ServerError,
    ToxicNotFound,
    ToxiproxyClient,
    ToxiproxyError,
    Unreachable,
)
from tests.proxy.upstreams import Upstream, free_port


def test_calls_and_typed_errors(client: ToxiproxyClient, echo_up: Upstream) -> None:
    assert client.version().startswith("2.")
    listen = f"127.0.0.1:{free_port()}"
    made = client.populate([{"name": "c1", "listen": listen, "upstream": echo_up.address}])
    assert [p["name"] for p in made] == ["c1"]
    assert client.proxy("c1")["listen"] == listen
    with pytest.raises(AlreadyExists):
        client.create_proxy("c1", "127.0.0.1:0", echo_up.address)
    with pytest.raises(ProxyNotFound):
        client.proxy("missing")
    with pytest.raises(ProxyNotFound):
        client.add_toxic("missing", "latency")
    t = client.add_toxic("c1", "latency", stream="upstream", attributes={"latency": 5},
                         name="lat", toxicity=0.5)
    assert (t["name"], t["stream"], t["toxicity"]) == ("lat", "upstream", 0.5)
    assert client.update_toxic("c1", "lat", attributes={"jitter": 2})["attributes"] == \
        {"latency": 5, "jitter": 2}
    assert client.update_toxic("c1", "lat", toxicity=1.0)["toxicity"] == 1
    assert [x["name"] for x in client.toxics("c1")] == ["lat"]
    with pytest.raises(BadRequest):
        client.add_toxic("c1", "no-such-type")
    with pytest.raises(ToxicNotFound):
        client.remove_toxic("c1", "nope")
    with pytest.raises(ToxicNotFound):
        client.update_toxic("c1", "nope", attributes={})
    client.remove_toxic("c1", "lat")
    assert client.update_proxy("c1", enabled=False)["enabled"] is False
    client.reset()
    assert client.proxy("c1")["enabled"] is True
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ServerError) as info:
            client.update_proxy("c1", listen=f"127.0.0.1:{busy.getsockname()[1]}")
    assert info.value.status == 500
    client.delete_proxy("c1")
    with pytest.raises(ProxyNotFound) as gone:
        client.delete_proxy("c1")
    assert gone.value.status == 404 and "proxy not found" in str(gone.value)


def test_unreachable_and_timeout() -> None:
    with ToxiproxyClient(f"http://127.0.0.1:{free_port()}", timeout=1.0) as c:
        with pytest.raises(Unreachable):
            c.proxies()
        with pytest.raises(Unreachable):
            c.version()
    with socket.socket() as mute:  # accepts (backlog) but never answers
        mute.bind(("127.0.0.1", 0))
        mute.listen()
        start = time.monotonic()
        with ToxiproxyClient(f"http://127.0.0.1:{mute.getsockname()[1]}", timeout=0.3) as c, \
                pytest.raises(ToxiproxyError):
            c.reset()
        assert time.monotonic() - start < 3.0
