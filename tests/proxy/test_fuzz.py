"""Random JSON to every route, random bytes, half-closes and resets through links: the
server keeps serving throughout (seeded hypothesis, bounded examples)."""

from __future__ import annotations

import contextlib
import random
import socket
import struct
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.proxy.client import ToxiproxyClient
from tests.proxy.conftest import Server, new_proxy
from tests.proxy.upstreams import Upstream, connect, rtt

ROUTES = [
    ("GET", "/version"), ("GET", "/proxies"), ("POST", "/proxies"), ("POST", "/populate"),
    ("GET", "/proxies/f"), ("POST", "/proxies/f"), ("PATCH", "/proxies/f"),
    ("GET", "/proxies/f/toxics"), ("POST", "/proxies/f/toxics"),
    ("GET", "/proxies/f/toxics/t"), ("POST", "/proxies/f/toxics/t"),
    ("PATCH", "/proxies/f/toxics/t"), ("GET", "/metrics"),
]
KEYS = ["name", "listen", "upstream", "enabled", "type", "stream", "toxicity", "attributes",
        "latency", "jitter", "rate", "delay", "timeout", "bytes", "average_size",
        "size_variation"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
                    st.sampled_from(["latency", "slicer", "bandwidth", "timeout", "limit_data",
                                     "upstream", "downstream", "127.0.0.1:0", "f", "t"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)),
    max_leaves=12)


@pytest.fixture
def fz(embedded: Server, ours: ToxiproxyClient, echo_up: Upstream) -> Iterator[httpx.Client]:
    ours.create_proxy("f", "127.0.0.1:0", echo_up.address)
    ours.add_toxic("f", "slow_close", name="t", attributes={"delay": 1})
    with httpx.Client(base_url=embedded.api, timeout=10) as h:
        yield h


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(route=st.sampled_from(ROUTES), body=values)
def test_random_json_never_breaks_the_server(fz: httpx.Client, route: tuple[str, str],
                                             body: object) -> None:
    method, path = route
    r = fz.request(method, path, json=body)
    assert r.status_code < 500 or (r.status_code == 500 and "listen tcp" in r.text), r.text
    assert r.status_code != 500 or r.json()["error"]
    # Whatever happened, the toxic proxy "f" still answers through the API, or was replaced.
    assert fz.get("/version").status_code == 200


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_random_bytes_to_the_api(fz: httpx.Client, embedded: Server, raw: bytes) -> None:
    host, port = embedded.api.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, TimeoutError):
            pass
    assert fz.get("/version").status_code == 200


def test_random_traffic_through_links(ours: ToxiproxyClient, echo_up: Upstream) -> None:
    rng = random.Random(3)
    name, listen = new_proxy(ours, echo_up.address)
    toxics = [("latency", {"latency": 1}), ("slicer", {"average_size": 3, "size_variation": 2}),
              ("limit_data", {"bytes": 50}), ("reset_peer", {"timeout": 1}),
              ("timeout", {"timeout": 5}), ("bandwidth", {"rate": 1000}),
              ("slow_close", {"delay": 2})]
    for round_ in range(60):
        if round_ % 10 == 0:
            for t in ours.toxics(name):
                ours.remove_toxic(name, t["name"])
            kind, attrs = rng.choice(toxics)
            ours.add_toxic(name, kind, stream=rng.choice(["upstream", "downstream"]),
                           toxicity=rng.random(), attributes=attrs)
        s = connect(listen)
        try:
            s.sendall(rng.randbytes(rng.randint(0, 2000)))
            action = rng.choice(["half", "reset", "close", "read"])
            if action == "half":
                s.shutdown(socket.SHUT_WR)
            elif action == "reset":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif action == "read":
                s.settimeout(0.05)
                with contextlib.suppress(TimeoutError, ConnectionResetError):
                    s.recv(4096)
        except OSError:
            pass
        finally:
            s.close()
    for t in ours.toxics(name):
        ours.remove_toxic(name, t["name"])
    with connect(listen) as s:
        assert rtt(s, b"still here") < 1.0
    assert ours.version() == "2.8.0"
