"""Data path through real sockets: every toxic in both streams, with a strict lower bound
and a generous upper bound (these machines are noisy). Runs against our server and, when
TOXIPROXY_SERVER is set, the real one."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator

import pytest

from chaos.proxy.client import ToxiproxyClient
from tests.proxy.conftest import new_proxy
from tests.proxy.upstreams import Upstream, connect, read_all, recorder, rtt, sender

STREAMS = ["upstream", "downstream"]


@pytest.fixture(scope="module")
def rec_up() -> Iterator[Upstream]:
    up = Upstream(recorder)
    yield up
    up.close()


def wait_events(up: Upstream, n: int, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while len(up.events) < n and time.monotonic() < end:
        time.sleep(0.01)


def test_passthrough_echo(client: ToxiproxyClient, echo_up: Upstream) -> None:
    _, listen = new_proxy(client, echo_up.address)
    with connect(listen) as s:
        for size in (1, 1000, 300_000):
            payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                got += s.recv(1 << 20)
            assert got == payload


@pytest.mark.parametrize("stream", STREAMS)
def test_latency(client: ToxiproxyClient, echo_up: Upstream, stream: str) -> None:
    name, listen = new_proxy(client, echo_up.address)
    client.add_toxic(name, "latency", stream=stream, attributes={"latency": 100})
    with connect(listen) as s:
        times = [rtt(s) for _ in range(7)]
    assert min(times) >= 0.100
    assert statistics.median(times) < 0.130


def test_latency_upstream_plus_downstream_add_up(client: ToxiproxyClient,
                                                  echo_up: Upstream) -> None:
    name, listen = new_proxy(client, echo_up.address)
    client.add_toxic(name, "latency", stream="downstream", attributes={"latency": 100})
    client.add_toxic(name, "latency", stream="upstream", attributes={"latency": 50})
    with connect(listen) as s:
        times = [rtt(s) for _ in range(3)]
    assert min(times) >= 0.150
    assert statistics.median(times) < 0.200


def test_toxicity_zero_never_and_half_is_per_connection(client: ToxiproxyClient,
                                                         echo_up: Upstream) -> None:
    """A slowed round trip takes >= 150 ms (strict); a fast one would need a 150 ms stall
    of this machine to look slowed, so the classification is robust to noise."""
    name, listen = new_proxy(client, echo_up.address)
    client.add_toxic(name, "latency", attributes={"latency": 150}, toxicity=0.0)
    with connect(listen) as s:
        assert max(rtt(s) for _ in range(3)) < 0.15
    client.update_toxic(name, "latency_downstream", toxicity=0.5)
    slowed = 0
    for _ in range(16):
        with connect(listen) as s:
            first, second = rtt(s), rtt(s)
        assert (first >= 0.15) == (second >= 0.15)  # decided per connection, not per chunk
        slowed += first >= 0.15
    assert 0 < slowed < 16


@pytest.mark.parametrize("stream", STREAMS)
def test_bandwidth(client: ToxiproxyClient, echo_up: Upstream, stream: str) -> None:
    name, listen = new_proxy(client, echo_up.address)
    client.add_toxic(name, "bandwidth", stream=stream, attributes={"rate": 500})
    payload = b"b" * 500_000
    with connect(listen, timeout=10) as s:
        start = time.monotonic()
        s.sendall(payload)
        got = 0
        while got < len(payload):
            got += len(s.recv(1 << 20))
        took = time.monotonic() - start
    assert 0.85 <= took <= 1.15, took  # 500 KB at 500 KB/s = 1 s, within 15 %


@pytest.mark.parametrize("stream", STREAMS)
def test_timeout_closes_after_its_timeout(client: ToxiproxyClient, echo_up: Upstream,
                                           stream: str) -> None:
    name, listen = new_proxy(client, echo_up.address)
    client.add_toxic(name, "timeout", stream=stream, attributes={"timeout": 500})
    start = time.monotonic()
    with connect(listen) as s:
        s.sendall(b"hello")
        data, end, _ = read_all(s, 3.0)
    took = time.monotonic() - start
    assert data == b""
    assert end == "eof"
    assert 0.5 <= took <= 0.75, took


def test_timeout_zero_holds_until_removed(client: ToxiproxyClient, echo_up: Upstream) -> None:
    name, listen = new_proxy(client, echo_up.address)
    client.add_toxic(name, "timeout", attributes={"timeout": 0})
    with connect(listen) as s:
        s.sendall(b"hello")
        data, end, _ = read_all(s, 0.6)
        assert (data, end) == (b"", "open")
        client.remove_toxic(name, "timeout_downstream")
        data, end, took = read_all(s, 3.0)
    assert (data, end) == (b"", "eof")
    assert took < 0.5


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("after_ms", [0, 300])
def test_reset_peer(client: ToxiproxyClient, echo_up: Upstream, stream: str,
                    after_ms: int) -> None:
    name, listen = new_proxy(client, echo_up.address)
    client.add_toxic(name, "reset_peer", stream=stream, attributes={"timeout": after_ms})
    with connect(listen) as s:
        start = time.monotonic()
        s.sendall(b"hello")
        data, end, _ = read_all(s, 3.0)
        took = time.monotonic() - start
    assert end == "reset"
    assert data == b""
    assert after_ms / 1000 <= took <= after_ms / 1000 + 0.25, took


def test_limit_data_downstream_passes_exactly_n(client: ToxiproxyClient,
                                                echo_up: Upstream) -> None:
    name, listen = new_proxy(client, echo_up.address)
    client.add_toxic(name, "limit_data", attributes={"bytes": 100})
    with connect(listen) as s:
        s.sendall(b"z" * 500)
        data, end, _ = read_all(s, 3.0)
    assert (len(data), end) == (100, "eof")


def test_limit_data_upstream_passes_exactly_n(client: ToxiproxyClient,
                                              rec_up: Upstream) -> None:
    name, listen = new_proxy(client, rec_up.address)
    client.add_toxic(name, "limit_data", stream="upstream", attributes={"bytes": 100})
    before = len(rec_up.events)
    with connect(listen) as s:
        s.sendall(b"z" * 500)
        _, end, _ = read_all(s, 3.0)
    assert end == "eof"
    wait_events(rec_up, before + 1)
    assert rec_up.events[before]["bytes"] == 100


@pytest.mark.parametrize("stream", STREAMS)
def test_slicer(client: ToxiproxyClient, echo_up: Upstream, stream: str) -> None:
    name, listen = new_proxy(client, echo_up.address)
    client.add_toxic(name, "slicer", stream=stream,
                     attributes={"average_size": 10, "size_variation": 5, "delay": 2000})
    payload = bytes(range(200)) * 5
    with connect(listen) as s:
        start = time.monotonic()
        s.sendall(payload)
        reads, got = 0, b""
        while len(got) < len(payload):
            got += s.recv(1 << 16)
            reads += 1
        took = time.monotonic() - start
    assert got == payload
    assert took >= 66 * 0.002  # at least 67 slices of at most 15 bytes, 2 ms apart
    assert took < 3.0
    if stream == "downstream":
        assert reads >= 20  # the client really sees small pieces


def test_slow_close_downstream(client: ToxiproxyClient) -> None:
    up = Upstream(sender(b"hi"))
    try:
        name, listen = new_proxy(client, up.address)
        client.add_toxic(name, "slow_close", attributes={"delay": 1000})
        with connect(listen) as s:
            data, end, _ = read_all(s, 4.0)
        wait_events(up, 1)
        held = time.monotonic() - up.events[0]["closed_at"]
    finally:
        up.close()
    assert (data, end) == (b"hi", "eof")
    assert held >= 1.0


def test_slow_close_upstream(ours: ToxiproxyClient, rec_up: Upstream) -> None:
    name, listen = new_proxy(ours, rec_up.address)
    ours.add_toxic(name, "slow_close", stream="upstream", attributes={"delay": 500})
    before = len(rec_up.events)
    with connect(listen) as s:
        s.sendall(b"abc")
        shut = time.monotonic()
        s.shutdown(socket.SHUT_WR)
        read_all(s, 3.0)
    wait_events(rec_up, before + 1)
    held = rec_up.events[before]["eof_at"] - shut
    assert rec_up.events[before]["bytes"] == 3
    assert 0.5 <= held <= 1.5, held


def test_toxic_added_to_open_connection_applies(client: ToxiproxyClient,
                                                echo_up: Upstream) -> None:
    name, listen = new_proxy(client, echo_up.address)
    with connect(listen) as s:
        assert rtt(s) < 0.1
        client.add_toxic(name, "latency", attributes={"latency": 100})
        assert rtt(s) >= 0.1
        client.update_toxic(name, "latency_downstream", attributes={"latency": 200})
        assert rtt(s) >= 0.2
        client.remove_toxic(name, "latency_downstream")
        assert rtt(s) < 0.1


def test_half_close_keeps_the_other_direction(ours: ToxiproxyClient, echo_up: Upstream) -> None:
    _, listen = new_proxy(ours, echo_up.address)
    with connect(listen) as s:
        s.sendall(b"ping")
        s.shutdown(socket.SHUT_WR)
        data, end, _ = read_all(s, 3.0)
    assert (data, end) == (b"pingbye", "eof")


def test_disable_refuses_and_closes_then_enable(client: ToxiproxyClient,
                                                echo_up: Upstream) -> None:
    name, listen = new_proxy(client, echo_up.address)
    live = connect(listen)
    assert rtt(live) < 0.1
    client.update_proxy(name, enabled=False)
    data, end, _ = read_all(live, 2.0)
    live.close()
    assert (data, end) == (b"", "eof")
    with pytest.raises(ConnectionRefusedError):
        connect(listen)
    client.update_proxy(name, enabled=True)
    with connect(listen) as s:
        assert rtt(s) < 0.1


def test_unreachable_upstream_accepts_then_closes(client: ToxiproxyClient) -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))  # bound, not listening: connects are refused
        dead = f"127.0.0.1:{spare.getsockname()[1]}"
        _, listen = new_proxy(client, dead)
        with connect(listen) as s:
            data, end, took = read_all(s, 2.0)
    assert (data, end) == (b"", "eof")
    assert took < 1.0


def test_upstream_change_closes_live_connections(client: ToxiproxyClient,
                                                 echo_up: Upstream, rec_up: Upstream) -> None:
    name, listen = new_proxy(client, echo_up.address)
    with connect(listen) as s:
        client.update_proxy(name, upstream=echo_up.address)  # identical: left alone
        assert rtt(s) < 0.5
        client.update_proxy(name, upstream=rec_up.address)
        _, end, _ = read_all(s, 2.0)
    assert end == "eof"


def test_latency_jitter_stays_in_its_band(client: ToxiproxyClient, echo_up: Upstream) -> None:
    name, listen = new_proxy(client, echo_up.address)
    client.add_toxic(name, "latency", attributes={"latency": 100, "jitter": 50})
    with connect(listen) as s:
        times = [rtt(s) for _ in range(12)]
    assert min(times) >= 0.050
    assert statistics.median(times) < 0.160
    assert max(times) - min(times) >= 0.010  # it really varies


def test_back_pressure_with_a_slow_reader(client: ToxiproxyClient, echo_up: Upstream) -> None:
    """8 MB echoed while the client reads late: nothing lost, nothing reordered."""
    _, listen = new_proxy(client, echo_up.address)
    payload = bytes(range(251)) * (8_000_000 // 251)
    with connect(listen, timeout=20) as s:
        sender = threading.Thread(target=s.sendall, args=(payload,))
        sender.start()
        time.sleep(0.3)  # let every buffer fill up
        got = bytearray()
        while len(got) < len(payload):
            got += s.recv(1 << 20)
        sender.join()
    assert bytes(got) == payload


def test_bytes_sent_before_the_upstream_is_dialled_are_kept(ours: ToxiproxyClient,
                                                            echo_up: Upstream) -> None:
    """Data (and EOF) racing the proxy's upstream dial must neither be lost nor reordered."""
    name, listen = new_proxy(ours, echo_up.address)
    ours.add_toxic(name, "latency", stream="upstream", toxicity=0.5, attributes={"latency": 1})
    for i in range(40):
        with connect(listen) as s:
            s.sendall(b"hello-%d" % i)
            s.shutdown(socket.SHUT_WR)
            data, end, _ = read_all(s, 3.0)
        assert (data, end) == (b"hello-%dbye" % i, "eof")
