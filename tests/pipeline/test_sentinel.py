"""The HA broker's clients against a real primary, replica and Sentinel: discovery, the
announced-address-to-proxy map, WAIT, and the consumer's replicated reads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aredis
from redis.asyncio.sentinel import MasterNotFoundError

from chaos.observers.sentinel_view import SentinelView
from chaos.publishers.redis_stream import RedisStreamPublisher
from targets.reference import sentinel
from targets.reference.pod import PodConfig
from targets.reference.rejoin import replicaof
from targets.reference.replicated import ReplicatedStreams
from targets.reference.sentinel_pod import config_text
from targets.reference.streams import StreamNames
from tests.load.forwarder import TcpForwarder
from tests.redisproc import free_port
from tests.sentinelproc import Ha, running_ha


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ha]:
    with running_ha(tmp_path_factory.mktemp("ha")) as running:
        yield running


@pytest.fixture
def proxy(ha: Ha) -> Iterator[TcpForwarder]:
    forwarder = TcpForwarder(ha.primary)
    try:
        yield forwarder
    finally:
        forwarder.close()


def _sentinel(ha: Ha, via: str | None, **extra: Any) -> dict[str, Any]:
    proxies = [{"announced": f"127.0.0.1:{ha.primary}", "via": via}] if via else []
    return {"master": "orders", "nodes": [f"127.0.0.1:{ha.sentinel}"], "proxies": proxies,
            **extra}


def _publisher(ha: Ha, via: str | None, **settings: Any) -> RedisStreamPublisher:
    return RedisStreamPublisher({"sentinel": _sentinel(ha, via), "stream": "ha", **settings},
                                "run-ha")


def test_publisher_dials_the_proxy_sentinel_maps_the_primary_to(
        ha: Ha, proxy: TcpForwarder) -> None:
    pub = _publisher(ha, proxy.address)
    assert pub.publish(1, b"{}").outcome == "ok"
    proxy.set_mode("refuse")  # the only way there is the proxy: a fault on it bites
    pub.close()
    assert pub.publish(2, b"{}").outcome == "fail"
    pub.close()


def test_unmapped_primary_is_never_dialled(ha: Ha) -> None:
    result = _publisher(ha, None).publish(1, b"{}")
    assert result.outcome == "fail"
    assert result.error == f"UnmappedPrimary:127.0.0.1:{ha.primary}"


def test_wait_confirms_the_replica_or_says_info(ha: Ha, proxy: TcpForwarder) -> None:
    one = _publisher(ha, proxy.address, wait_replicas=1, wait_timeout="300ms")
    assert one.publish(1, b"{}").outcome == "ok"
    two = _publisher(ha, proxy.address, wait_replicas=2, wait_timeout="100ms")
    result = two.publish(2, b"{}")  # only one replica: on the primary, not confirmed
    assert (result.outcome, result.error) == ("info", "WaitTimeout")
    one.close()
    two.close()


def test_publisher_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="wait_timeout must be below timeout"):
        RedisStreamPublisher({"address": "h:1", "wait_replicas": 1, "wait_timeout": "2s"}, "r")
    with pytest.raises(ValueError, match=r"sentinel\.nodes"):
        RedisStreamPublisher({"sentinel": {"master": "orders"}}, "r")
    with pytest.raises(ValueError, match="wait_replicas"):
        RedisStreamPublisher({"address": "h:1", "wait_replicas": -1}, "r")


def test_consumer_client_follows_sentinel_through_its_proxy(ha: Ha, proxy: TcpForwarder) -> None:
    found = sentinel.parse({"sentinel": _sentinel(ha, proxy.address)})
    unmapped = sentinel.parse({"sentinel": _sentinel(ha, None)})
    assert found is not None and unmapped is not None

    async def go() -> None:
        client = sentinel.client(found, 2.0, 4)
        assert await client.set("k", "v")
        proxy.set_mode("refuse")
        await client.connection_pool.disconnect()
        with pytest.raises(redis.ConnectionError):
            await client.get("k")
        await client.aclose()
        lost = sentinel.client(unmapped, 2.0, 4)
        with pytest.raises(MasterNotFoundError, match="no proxy"):
            await lost.ping()
        await lost.aclose()

    asyncio.run(go())


def test_replicated_reads_hold_back_what_the_replicas_lack(ha: Ha) -> None:
    names = StreamNames("ha-reads", "g", "ha-reads:dlq")

    async def go() -> None:
        r = aredis.Redis(port=ha.primary, decode_responses=True)
        await r.xgroup_create(names.stream, names.group, id="0", mkstream=True)
        await r.xadd(names.stream, {"order_id": "1", "run_id": "x"})
        lacking = ReplicatedStreams(r, names, "c1", replicas=2, timeout_ms=100)
        assert await lacking.read(10, block_ms=10) == []  # pending on c1, not processed
        assert await lacking.autoclaim(0, 10, "0-0") == ("0-0", [])
        assert lacking.unconfirmed == 2
        enough = ReplicatedStreams(r, names, "c2", replicas=1, timeout_ms=1000)
        _, entries = await enough.autoclaim(0, 10, "0-0")  # reclaim takes it, replicated
        assert [f["order_id"] for _, f in entries] == ["1"]
        await r.xadd(names.stream, {"order_id": "2", "run_id": "x"})
        assert [f["order_id"] for _, f in await enough.read(10, block_ms=10)] == ["2"]
        await r.aclose()

    asyncio.run(go())


def test_sentinel_view_reads_primary_and_replicas(ha: Ha) -> None:
    view = SentinelView({"master": "orders", "nodes": [f"127.0.0.1:{ha.sentinel}"]})
    assert view.primary() == ("127.0.0.1", ha.primary)
    doc = view.describe(("127.0.0.1", ha.primary))
    assert doc["failed_over"] is False and doc["config_epoch"] == 0
    assert [r["address"] for r in doc["replicas"]] == [f"127.0.0.1:{ha.replica}"]
    with pytest.raises(ValueError, match="nodes"):
        SentinelView({"master": "orders"})


def test_bad_sentinel_settings_exit_2() -> None:
    for bad in ({"nodes": []}, {"nodes": ["h:1"], "proxies": [{"announced": "h:1"}]},
                {"nodes": ["h:1"], "wait_replicas": "x"}, {"nodes": ["nohostport"]},
                {"nodes": ["h:1"], "extra": 1}):
        with pytest.raises(SystemExit) as exc:
            sentinel.parse({"sentinel": bad})
        assert exc.value.code == 2
    assert sentinel.parse({}) is None


def test_restarted_broker_asks_sentinel_whom_to_replicate(ha: Ha) -> None:
    nodes = {"master": "orders", "nodes": [f"127.0.0.1:{ha.sentinel}"]}
    primary = f"127.0.0.1:{ha.primary}"
    # named itself: starts as the primary, whatever its replicaof setting says
    assert replicaof({"sentinel": nodes, "announce": primary, "replicaof": "h:1"}) is None
    # another node is the primary now: starts as its replica
    assert replicaof({"sentinel": nodes, "announce": f"127.0.0.1:{ha.replica}"}) == primary
    # no sentinel answers (the first start): as configured
    silent = {"master": "orders", "nodes": [f"127.0.0.1:{free_port()}"]}
    assert replicaof({"sentinel": silent, "announce": primary, "replicaof": "h:1"}) == "h:1"
    assert replicaof({"replicaof": "h:2"}) == "h:2"
    with pytest.raises(SystemExit):
        replicaof({"sentinel": nodes})  # announce is required with sentinel


def test_sentinel_config_refuses_bad_settings(tmp_path: Path) -> None:
    pod = PodConfig(name="s", component="sentinel", index=0, ports={"sentinel": 1},
                    data_dir=tmp_path, settings={"monitor": "nohostport"})
    with pytest.raises(SystemExit):
        config_text(pod)
    good = PodConfig(name="s", component="sentinel", index=0, ports={"sentinel": 1},
                     data_dir=tmp_path, settings={"monitor": "127.0.0.1:7", "quorum": 2,
                                                  "down_after": "1500ms"})
    text = config_text(good)
    assert "sentinel monitor orders 127.0.0.1 7 2" in text
    assert "sentinel down-after-milliseconds orders 1500" in text


def test_producer_link_follows_sentinel_and_confirms_only_replicated(
        ha: Ha, proxy: TcpForwarder) -> None:
    """The producer's broker link: the primary through the mapped proxy; a batch WAIT does
    not confirm raises NotReplicated (the sender resends it), and the resend is deduplicated."""
    from targets.reference.producer.app import parse_settings
    from targets.reference.producer.link import SEND_ERRORS, BrokerLink, Keys, NotReplicated
    from targets.reference.producer.link import sentinel as sentinel_resolver
    from targets.reference.producer.wal import Record

    settings = parse_settings({"sentinel": _sentinel(ha, proxy.address, wait_replicas=2,
                                                     wait_timeout="100ms")})
    assert settings.sentinel is not None and settings.sentinel.wait_replicas == 2
    one = sentinel.parse({"sentinel": _sentinel(ha, proxy.address)})
    unmapped = sentinel.parse({"sentinel": _sentinel(ha, None)})
    assert one is not None and unmapped is not None
    record = Record(1, 1, "run-p", "order-1", b"{}")

    async def go() -> None:
        keys = Keys("ha-producer")
        primary = aredis.Redis(port=ha.primary, decode_responses=True)
        lacking = BrokerLink(sentinel_resolver(settings.sentinel), keys, 2.0, 2, 100)
        with pytest.raises(NotReplicated):  # one replica only: on the primary, unconfirmed
            await lacking.produce([record], 0, 0)
        assert await primary.hget(keys.backlog, "0") == "1"  # the drain waits: may vanish
        enough = BrokerLink(sentinel_resolver(one), keys, 2.0, 1, 1000)
        assert await enough.produce([record], 0, 0) == [0]  # the resend: deduplicated
        assert await primary.hget(keys.backlog, "0") == "0"  # confirmed: not counted
        lost = BrokerLink(sentinel_resolver(unmapped), keys, 2.0)
        with pytest.raises(SEND_ERRORS, match="no proxy"):
            await lost.produce([record], 0, 0)
        proxy.set_mode("refuse")  # the only way there is the proxy: a fault on it bites
        await enough.reset()
        with pytest.raises(SEND_ERRORS):
            await enough.produce([record], 0, 0)
        for link in (lacking, enough, lost):
            await link.close()
        await primary.aclose()

    asyncio.run(go())
    stream = redis.Redis(port=ha.primary).xrange("ha-producer")
    assert len(stream) == 1
