"""The `rabbitmq` publisher against a real RabbitMQ, directly and through the proxy:
ack -> ok, nack / unroutable / refused -> fail, timeout / connection lost after send -> info."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pika
import pytest

from chaos.platforms.local import LocalPlatform
from chaos.platforms.ports import free_port
from chaos.proxy.client import ToxiproxyClient
from chaos.publishers.rabbitmq import RabbitMqPublisher
from chaos.registry import publishers


@pytest.fixture
def queue(servers: LocalPlatform) -> Iterator[str]:
    """A fresh durable queue, holding at most 3 messages (then the broker nacks)."""
    name = f"q-{uuid.uuid4().hex[:8]}"
    host, port = servers.resolve("${component:broker/amqp}").rsplit(":", 1)
    conn = pika.BlockingConnection(pika.ConnectionParameters(host, int(port)))
    channel = conn.channel()
    channel.queue_declare(name, durable=True,
                          arguments={"x-max-length": 3, "x-overflow": "reject-publish"})
    yield name
    channel.queue_delete(name)
    conn.close()


def publisher(address: str, queue: str, **extra: object) -> RabbitMqPublisher:
    return RabbitMqPublisher({"address": address, "routing_key": queue, "timeout": "1s",
                              **extra}, run_id="run-1")


def test_is_registered() -> None:
    assert publishers.get("rabbitmq") is RabbitMqPublisher


def test_ack_is_ok_nack_and_unroutable_are_fail(servers: LocalPlatform, queue: str) -> None:
    pub = publisher(servers.resolve("${component:broker/amqp}"), queue)
    try:
        assert [pub.publish(i, b"{}").outcome for i in range(3)] == ["ok"] * 3
        full = pub.publish(3, b"{}")  # x-overflow reject-publish: the broker nacks
        assert (full.outcome, full.error) == ("fail", "NackError")
        pub.routing_key = "no-such-queue"
        lost = pub.publish(4, b"{}")
        assert (lost.outcome, lost.error) == ("fail", "UnroutableError")
        assert pub.opened == 1  # one connection, reused throughout
    finally:
        pub.close()
    host, port = servers.resolve("${component:broker/amqp}").rsplit(":", 1)
    conn = pika.BlockingConnection(pika.ConnectionParameters(host, int(port)))
    _method, props, body = conn.channel().basic_get(queue, auto_ack=True)
    conn.close()
    assert props.headers == {"order_id": 0, "run_id": "run-1"}
    assert props.message_id == "run-1:0" and props.delivery_mode == 2 and body == b"{}"


def test_refused_connection_is_fail() -> None:
    pub = publisher(f"127.0.0.1:{free_port()}", "orders")
    result = pub.publish(1, b"{}")
    assert (result.outcome, result.error) == ("fail", "ConnectionRefusedError")


def test_cut_through_the_proxy_is_info_then_fail(servers: LocalPlatform, queue: str) -> None:
    pub = publisher(servers.resolve("${proxy:producer-broker}"), queue)
    with ToxiproxyClient(servers.proxy_api()) as proxy:
        try:
            assert pub.publish(1, b"{}").outcome == "ok"
            proxy.add_toxic("producer-broker", "timeout", name="hole",
                            attributes={"timeout": 0})  # bytes vanish: no confirm comes
            started = time.monotonic()
            stalled = pub.publish(2, b"{}")
            assert (stalled.outcome, stalled.error) == ("info", "PublishTimeout")
            assert time.monotonic() - started < 3
            proxy.remove_toxic("producer-broker", "hole")
            assert pub.publish(3, b"{}").outcome == "ok"
            proxy.update_proxy("producer-broker", enabled=False)  # connections closed
            cut = pub.publish(4, b"{}")
            assert cut.outcome == "info", cut
            refused = pub.publish(5, b"{}")
            assert (refused.outcome, refused.error) == ("fail", "ConnectionRefusedError")
        finally:
            proxy.update_proxy("producer-broker", enabled=True)
            pub.close()


def test_bad_settings_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match="address must be host:port"):
        RabbitMqPublisher({"address": "nowhere"}, "r")
    with pytest.raises(ValueError, match="unknown rabbitmq setting"):
        RabbitMqPublisher({"address": "h:1", "bogus": 1}, "r")
    with pytest.raises(ValueError, match="timeout"):
        RabbitMqPublisher({"address": "h:1", "timeout": "soon"}, "r")
    with pytest.raises(ValueError, match="connections must be a positive integer"):
        RabbitMqPublisher({"address": "h:1", "connections": 0}, "r")


def test_no_free_connection_within_the_timeout_is_fail_overloaded(
    servers: LocalPlatform, queue: str,
) -> None:
    """At most `connections` open at once: a publish that waits past `timeout` for a usable
    one sent nothing (fail), and the next one, once a connection is free, goes through."""
    pub = publisher(servers.resolve("${component:broker/amqp}"), queue, connections=1)
    try:
        assert pub.publish(0, b"{}").outcome == "ok"
        draining = pub._active
        draining.stale = True  # as after a confirm timeout, while others still wait on it
        started = time.monotonic()
        waited = pub.publish(1, b"{}")
        assert (waited.outcome, waited.error) == ("fail", "Overloaded")
        assert 0.9 < time.monotonic() - started < 5
        draining.retire()  # its last publish answered: it closes, its slot is free
        assert pub.publish(2, b"{}").outcome == "ok"
        assert pub.opened == 2
    finally:
        pub.close()


def test_many_publishes_in_flight_on_one_connection(servers: LocalPlatform) -> None:
    """Confirms are pipelined: 300 concurrent publishes (greenlets, as in the load processes)
    share one connection, most of them waiting for their confirms at the same time, and each
    gets its own ack; the broker holds every message once."""
    import gevent

    name = f"q-{uuid.uuid4().hex[:8]}"
    address = servers.resolve("${component:broker/amqp}")
    host, port = address.rsplit(":", 1)
    conn = pika.BlockingConnection(pika.ConnectionParameters(host, int(port)))
    channel = conn.channel()
    channel.queue_declare(name, durable=True)
    conn.close()  # idle during the greenlets' run: it would miss its heartbeats
    pub = publisher(address, name, timeout="10s")
    try:
        jobs = [gevent.spawn(pub.publish, i, b"{}") for i in range(300)]
        gevent.joinall(jobs, timeout=30)
        assert [job.value.outcome for job in jobs] == ["ok"] * 300
        assert pub.opened == 1
        assert pub.peak_in_flight >= 100, pub.peak_in_flight
    finally:
        pub.close()
    conn = pika.BlockingConnection(pika.ConnectionParameters(host, int(port)))
    channel = conn.channel()
    ids = []
    while (got := channel.basic_get(name, auto_ack=True))[0] is not None:
        ids.append(got[1].headers["order_id"])
    channel.queue_delete(name)
    conn.close()
    assert sorted(ids) == list(range(300))


def test_pipelined_confirms_reach_their_own_publish(servers: LocalPlatform, queue: str) -> None:
    """With many in flight, each publish gets its own delivery tag's answer: the queue takes
    3 (acks), the broker nacks the rest, and the unroutable ones are told apart."""
    import gevent

    pub = publisher(servers.resolve("${component:broker/amqp}"), queue)
    try:
        jobs = [gevent.spawn(pub.publish, i, b"{}") for i in range(6)]
        gevent.joinall(jobs, timeout=10)
        pub.routing_key = "no-such-queue"
        lost = [gevent.spawn(pub.publish, i, b"{}") for i in range(6, 9)]
        gevent.joinall(lost, timeout=10)
        assert [(j.value.outcome, j.value.error) for j in jobs + lost] == (
            [("ok", None)] * 3 + [("fail", "NackError")] * 3 + [("fail", "UnroutableError")] * 3
        )
        assert pub.opened == 1 and pub.peak_in_flight >= 3
    finally:
        pub.close()
