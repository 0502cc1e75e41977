"""network.* and timeout.* faults: apply, verify, revert against the embedded server with a
real echo upstream and a real redis-server upstream."""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from chaos.faults import network, timeout
from chaos.faults.base import FaultEnv, FaultNotEffective
from chaos.faults.proxied import ProxiedFault, ToxicAction
from chaos.proxy.client import ToxiproxyClient
from chaos.spec.models import TargetSpec
from chaos.spec.structs import decode
from tests.proxy.conftest import Server
from tests.proxy.upstreams import Upstream, connect, free_port, read_all, rtt
from tests.redisproc import running_redis


class ApiPlatform:
    """The two Platform calls faults make, answered by the live proxy server."""

    def __init__(self, api: str) -> None:
        self.api = api

    def proxy_api(self) -> str:
        return self.api

    def resolve(self, text: str) -> str:
        name = text.removeprefix("${proxy:").removesuffix("}")
        with ToxiproxyClient(self.api) as c:
            return str(c.proxy(name)["listen"])


@pytest.fixture(scope="module")
def redis_addr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_redis(tmp_path_factory.mktemp("redis")) as port:
        yield f"127.0.0.1:{port}"


@pytest.fixture
def world(ours: ToxiproxyClient, embedded: Server, echo_up: Upstream,
          redis_addr: str) -> dict[str, str]:
    """Proxies c-0, c-1 (to redis) and e (to the echo server); name -> listen."""
    out = {}
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    for name, up in (("c-0", redis_addr), ("c-1", redis_addr), ("e", echo_up.address),
                     ("dead", dead)):
        out[name] = str(ours.create_proxy(name, "127.0.0.1:0", up)["listen"])
    return out


def target(names: list[str]) -> TargetSpec:
    return decode(TargetSpec, {
        "apiVersion": "pipechaos/v1", "kind": "Target", "metadata": {"name": "t"},
        "proxies": [{"name": n, "upstream": "127.0.0.1:1"} for n in names]})


def actions(fault: ProxiedFault, params: dict[str, Any], api: str,
            tmp: Path, seed: int = 1) -> list[ToxicAction]:
    p = decode(fault.Params, params)
    t = target(["c-0", "c-1", "e", "dead"])
    assert fault.validate(p, t) == []
    env = FaultEnv(t, ApiPlatform(api), random.Random(seed), tmp, 1.0)  # type: ignore[arg-type]
    out = fault.actions(p, env)
    assert all(isinstance(a, ToxicAction) for a in out)
    json.dumps([a.record() for a in out])  # journal-safe
    return out  # type: ignore[return-value]


def rclient(listen: str, timeout_s: float = 1.0) -> redis.Redis:
    host, _, port = listen.rpartition(":")
    return redis.Redis(host=host, port=int(port), socket_timeout=timeout_s,
                       socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0))


@pytest.mark.parametrize("mode", ["blackhole", "refuse", "reset"])
def test_partition_modes(embedded: Server, world: dict[str, str], tmp_path: Path,
                         mode: str) -> None:
    (a,) = actions(network.PARTITION, {"proxy": "c-0", "mode": mode}, embedded.api, tmp_path)
    with pytest.raises(FaultNotEffective):
        a.verify()  # not applied yet: must not pass
    a.apply()
    try:
        a.verify()
        with pytest.raises(redis.exceptions.ConnectionError if mode != "blackhole"
                           else redis.exceptions.TimeoutError):
            rclient(world["c-0"], 0.5).ping()
        assert rclient(world["c-1"]).ping()  # the other proxy is untouched
    finally:
        a.revert()
    a.revert()  # idempotent
    assert rclient(world["c-0"]).ping()
    with pytest.raises(FaultNotEffective):
        a.verify()


def test_partition_reset_upstream_only_through_echo(embedded: Server, world: dict[str, str],
                                                    tmp_path: Path) -> None:
    (a,) = actions(network.PARTITION, {"proxy": "e", "mode": "reset", "direction": "upstream"},
                   embedded.api, tmp_path)
    a.apply()
    a.verify()
    with connect(world["e"]) as s:
        s.sendall(b"x")
        assert read_all(s, 2.0)[1] == "reset"
    a.revert()


def test_latency_verify_measures_the_delay(embedded: Server, world: dict[str, str],
                                           tmp_path: Path, ours: ToxiproxyClient) -> None:
    (a,) = actions(network.LATENCY, {"proxy": "c-0", "latency": "200ms", "direction": "both"},
                   embedded.api, tmp_path)
    a.apply()
    a.verify()
    start = time.monotonic()
    rclient(world["c-0"]).ping()
    assert time.monotonic() - start >= 0.4
    # Sabotage: the toxic is there but has no effect; verify must notice.
    for t in a.toxics:
        ours.update_toxic("c-0", t["name"], attributes={"latency": 0})
    with pytest.raises(FaultNotEffective, match="no answer before 400 ms"):
        a.verify()
    a.revert()
    assert ours.toxics("c-0") == []


def test_selector_and_overlap_revert_only_own(embedded: Server, world: dict[str, str],
                                             tmp_path: Path, ours: ToxiproxyClient) -> None:
    first = actions(network.LATENCY, {"proxies": {"prefix": "c-"}, "latency": "50ms"},
                    embedded.api, tmp_path, seed=1)
    second = actions(network.BANDWIDTH, {"proxies": {"names": ["c-1"]}, "rate": 100},
                     embedded.api, tmp_path, seed=2)
    assert [a.proxy for a in first] == ["c-0", "c-1"] and [a.proxy for a in second] == ["c-1"]
    for a in first + second:
        a.apply()
    for a in first + second:
        a.verify()
    for a in first:
        a.revert()
    assert [t["type"] for t in ours.toxics("c-1")] == ["bandwidth"]
    assert ours.toxics("c-0") == []
    second[0].revert()
    assert ours.toxics("c-1") == []


def test_restore_reverts_without_platform(embedded: Server, world: dict[str, str],
                                          tmp_path: Path, ours: ToxiproxyClient) -> None:
    (a,) = actions(network.PARTITION, {"proxy": "e", "mode": "refuse"}, embedded.api, tmp_path)
    (b,) = actions(network.SLOW_CLOSE, {"proxy": "c-0", "delay": "1s"}, embedded.api, tmp_path)
    records = json.loads(json.dumps([a.record(), b.record()]))
    a.apply()
    b.apply()
    network.PARTITION.restore(records[0]).revert()
    network.SLOW_CLOSE.restore(records[1]).revert()
    assert ours.proxy("e")["enabled"] is True
    assert ours.toxics("c-0") == []
    with connect(world["e"]) as s:
        assert rtt(s) < 0.5


@pytest.mark.parametrize(("fault", "params"), [
    (network.BANDWIDTH, {"rate": 10}),
    (network.RESET, {"after": "100ms"}),
    (network.SLICE, {"average_size": 2, "size_variation": 1, "delay": "1ms"}),
    (network.LIMIT, {"bytes": 3}),
    (network.SLOW_CLOSE, {"delay": "200ms"}),
    (timeout.SLOW, {"latency": "300ms", "client_timeout": "100ms"}),
    (timeout.BLACKHOLE, {"direction": "both"}),
    (timeout.BLACKHOLE, {"close_after": "5s"}),
])
def test_every_fault_applies_verifies_reverts(embedded: Server, world: dict[str, str],
                                              tmp_path: Path, ours: ToxiproxyClient,
                                              fault: ProxiedFault, params: dict[str, Any]) -> None:
    (a,) = actions(fault, {"proxy": "c-0", **params}, embedded.api, tmp_path)
    a.apply()
    try:
        a.verify()
        assert a.describe().startswith(fault.name)
    finally:
        a.revert()
    assert ours.toxics("c-0") == []
    assert rclient(world["c-0"]).ping()


def test_timeout_blackhole_lets_the_request_through_but_not_the_answer(
        embedded: Server, world: dict[str, str], tmp_path: Path, redis_addr: str) -> None:
    (a,) = actions(timeout.BLACKHOLE, {"proxy": "c-0"}, embedded.api, tmp_path)
    a.apply()
    try:
        a.verify()
        with connect(world["c-0"]) as s:  # raw RESP: redis-py would wait for HELLO first
            s.sendall(b"SET applied yes\r\n")
            assert read_all(s, 0.5)[:2] == (b"", "open")
    finally:
        a.revert()
    assert rclient(redis_addr).get("applied") == b"yes"  # the effect happened


def test_timeout_slow_makes_the_client_timeout_fire(embedded: Server, world: dict[str, str],
                                                    tmp_path: Path) -> None:
    (a,) = actions(timeout.SLOW, {"proxy": "c-0", "latency": "800ms", "client_timeout": "300ms"},
                   embedded.api, tmp_path)
    a.apply()
    try:
        with pytest.raises(redis.exceptions.TimeoutError):
            rclient(world["c-0"], 0.3).ping()
    finally:
        a.revert()


def test_validate_reports_semantic_errors() -> None:
    t = target(["c-0", "c-1"])

    def errs(fault: ProxiedFault, params: dict[str, Any]) -> list[str]:
        return fault.validate(decode(fault.Params, params), t)

    assert errs(network.LATENCY, {"proxy": "nope", "latency": "1s"}) == [
        f"proxy: target {t.metadata.name} has no proxy nope, a role this experiment needs "
        "(it has: c-0, c-1)"]
    assert errs(network.LATENCY, {"proxies": {"prefix": "x-"}, "latency": "1s"}) == [
        f"proxies: {{prefix: x-}} matches no proxy of target {t.metadata.name} (it has: c-0, c-1)"]
    assert errs(network.LATENCY, {"proxy": "c-0", "latency": "1s", "jitter": "2s"}) == [
        "jitter: must not exceed latency"]
    assert "client_timeout" in errs(timeout.SLOW, {"proxy": "c-0", "latency": "1s",
                                                    "client_timeout": "2s"})[0]
    for fault, params in [
        (network.PARTITION, {"proxy": "c-0", "mode": "refuse", "direction": "upstream"}),
        (network.SLICE, {"proxy": "c-0", "average_size": 2, "size_variation": 3}),
        (network.LATENCY, {"proxy": "c-0", "proxies": {"prefix": "c"}, "latency": "1s"}),
        (network.LATENCY, {"proxy": "c-0", "latency": 100}),
        (network.LATENCY, {"proxy": "c-0", "latency": "1s", "bogus": 1}),
    ]:
        with pytest.raises(ValueError):
            decode(fault.Params, params)


def test_toxic_names_are_unique_per_occurrence(embedded: Server, world: dict[str, str],
                                               tmp_path: Path) -> None:
    a = actions(network.LATENCY, {"proxy": "c-0", "latency": "1ms"}, embedded.api, tmp_path, 1)
    b = actions(network.LATENCY, {"proxy": "c-0", "latency": "1ms"}, embedded.api, tmp_path, 2)
    again = actions(network.LATENCY, {"proxy": "c-0", "latency": "1ms"}, embedded.api,
                    tmp_path, 1)
    assert a[0].toxics[0]["name"] != b[0].toxics[0]["name"]
    assert a[0].toxics[0]["name"] == again[0].toxics[0]["name"]  # a replay picks the same
    assert a[0].toxics[0]["name"].startswith("pipechaos-")


def test_overlapping_refuses_keep_the_proxy_down_until_the_last_revert(
        embedded: Server, world: dict[str, str], tmp_path: Path) -> None:
    (first,) = actions(network.PARTITION, {"proxy": "e", "mode": "refuse"}, embedded.api,
                       tmp_path, seed=1)
    (second,) = actions(network.PARTITION, {"proxy": "e", "mode": "refuse"}, embedded.api,
                        tmp_path, seed=2)
    first.apply()
    second.apply()
    try:
        first.revert()
        first.revert()  # idempotent: still one refuse left
        second.verify()  # the proxy is still down
    finally:
        second.revert()
    with connect(world["e"]) as s:  # up again after the last one
        s.sendall(b"x")
        assert s.recv(1) == b"x"


def test_refuse_verify_fails_when_someone_reenabled(embedded: Server, world: dict[str, str],
                                                    tmp_path: Path,
                                                    ours: ToxiproxyClient) -> None:
    (a,) = actions(network.PARTITION, {"proxy": "e", "mode": "refuse"}, embedded.api, tmp_path)
    a.apply()
    ours.update_proxy("e", enabled=True)
    with pytest.raises(FaultNotEffective, match="still enabled"):
        a.verify()
    a.revert()


def test_blackhole_verify_sees_silence_only_with_the_toxic(embedded: Server,
                                                           world: dict[str, str],
                                                           tmp_path: Path) -> None:
    (a,) = actions(network.PARTITION, {"proxy": "e"}, embedded.api, tmp_path)
    a.apply()
    a.verify()
    with socket.create_connection(tuple(world["e"].split(":")), timeout=2) as s:  # type: ignore[arg-type]
        s.sendall(b"x")
        assert read_all(s, 0.5)[1] == "open"
    a.revert()


@pytest.mark.parametrize(("fault", "params"), [
    (network.PARTITION, {}),
    (network.RESET, {}),
    (network.LATENCY, {"latency": "300ms"}),
])
def test_verify_with_a_dead_upstream_rests_on_the_api(embedded: Server, world: dict[str, str],
                                                      tmp_path: Path, fault: ProxiedFault,
                                                      params: dict[str, Any]) -> None:
    """The proxy closes clients at once when its upstream is down; that is not the fault's
    failure, so verify passes on the API check, and still fails when the toxic is absent."""
    (a,) = actions(fault, {"proxy": "dead", **params}, embedded.api, tmp_path)
    with pytest.raises(FaultNotEffective, match="not installed"):
        a.verify()
    a.apply()
    try:
        a.verify()
    finally:
        a.revert()


def test_revert_on_a_dead_embedded_server_is_done_but_not_on_a_real_one() -> None:
    """After a SIGKILL the embedded server is gone with its toxics: rollback succeeds."""
    from chaos.faults.network import PARTITION
    from chaos.proxy.client import Unreachable

    record = {"fault": "network.partition", "api": "http://127.0.0.1:9", "proxy": "p",
              "listen": None, "toxics": [{"name": "t", "type": "timeout",
                                          "stream": "downstream", "attributes": {}}],
              "disable": False, "expect": {}, "probe": None}
    PARTITION.restore({**record, "embedded": True}).revert()
    with pytest.raises(Unreachable):
        PARTITION.restore({**record, "embedded": False}).revert()
