"""The `kafka` publisher (idempotent producer, acks=all) against a real Kafka-protocol broker
(noida-db's Kafka service): delivered -> ok, and in the topic once with its headers; refused
before sending -> fail; no answer (a stopped broker, or none listening) -> info; and inside
the Locust load processes (gevent), every offered order delivered exactly once."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from chaos.platforms.ports import free_port
from chaos.publishers.kafka import KafkaPublisher
from chaos.registry import publishers
from tests.load.window import load_through

from .conftest import Broker


def records(broker: Broker, topic: str, expect: int) -> list[Any]:
    """The topic's records (partition 0), read until `expect` arrived or 15 s passed."""
    consumer = Consumer({"bootstrap.servers": broker.address, "group.id": "t",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got: list[Any] = []
    deadline = time.monotonic() + 15
    while len(got) < expect and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg)
    time.sleep(0.5)  # and nothing more after them
    while (msg := consumer.poll(0.2)) is not None:
        got.append(msg)
    consumer.close()
    return got


def test_is_registered() -> None:
    assert publishers.get("kafka") is KafkaPublisher


def test_delivered_is_ok_and_lands_once(broker: Broker) -> None:
    topic = f"t-{uuid.uuid4().hex[:8]}"
    pub = KafkaPublisher({"bootstrap": broker.address, "topic": topic, "timeout": "5s"}, "run-1")
    try:
        assert [pub.publish(i, b'{"n": %d}' % i).outcome for i in range(5)] == ["ok"] * 5
    finally:
        pub.close()
    got = records(broker, topic, 5)
    assert [m.key() for m in got] == [b"0", b"1", b"2", b"3", b"4"]
    assert dict(got[2].headers()) == {"order_id": b"2", "run_id": b"run-1",
                                      "message_id": b"run-1:2"}
    assert got[2].value() == b'{"n": 2}'


def test_too_large_is_fail_before_sending(broker: Broker) -> None:
    pub = KafkaPublisher({"bootstrap": broker.address, "topic": "big", "timeout": "2s"}, "r")
    try:
        result = pub.publish(1, b"x" * 2_000_000)  # over message.max.bytes (1 MB)
    finally:
        pub.close()
    assert (result.outcome, result.error) == ("fail", "MSG_SIZE_TOO_LARGE")


def test_no_broker_is_info() -> None:
    """librdkafka cannot tell Python whether a timed-out record was persisted: info."""
    pub = KafkaPublisher({"bootstrap": f"127.0.0.1:{free_port()}", "timeout": "1s"}, "r")
    start = time.monotonic()
    result = pub.publish(1, b"{}")
    assert result.outcome == "info" and time.monotonic() - start < 3
    pub.close()


def test_stopped_broker_is_info_then_ok_again(broker: Broker) -> None:
    topic = f"t-{uuid.uuid4().hex[:8]}"
    pub = KafkaPublisher({"bootstrap": broker.address, "topic": topic, "timeout": "1s"}, "r")
    try:
        deadline = time.monotonic() + 10  # the topic and the producer id, on a busy machine
        while pub.publish(1, b"{}").outcome != "ok" and time.monotonic() < deadline:
            pass
        os.kill(broker.proc.pid, signal.SIGSTOP)  # sent, never answered
        try:
            stalled = pub.publish(2, b"{}")
        finally:
            os.kill(broker.proc.pid, signal.SIGCONT)
        assert stalled.outcome == "info", stalled
        deadline = time.monotonic() + 10
        while (again := pub.publish(3, b"{}")).outcome != "ok" and time.monotonic() < deadline:
            pass
        assert again.outcome == "ok"
    finally:
        pub.close()


@pytest.mark.parametrize(("settings", "message"), [
    ({}, "kafka setting bootstrap must be host:port"),
    ({"bootstrap": "nohost"}, "kafka setting bootstrap must be host:port"),
    ({"bootstrap": "h:1", "colour": 1}, "unknown kafka setting(s): colour"),
    ({"bootstrap": "h:1", "config": {"acks": "1"}}, "kafka setting config may not set acks"),
    ({"bootstrap": "h:1", "config": {"no.such.property": 1}}, "kafka setting config: "),
    ({"bootstrap": "h:1", "timeout": "soon"}, "kafka setting timeout: "),
])
def test_bad_settings_are_one_line(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as err:
        KafkaPublisher(settings, "r")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_locust_load_through_the_kafka_publisher(broker: Broker, tmp_path: Path) -> None:
    topic = f"t-{uuid.uuid4().hex[:8]}"
    _, stats = load_through("kafka", {"bootstrap": broker.address, "topic": topic},
                            tmp_path / "run", "100/s", 2)
    assert stats["offered"] == 200
    assert stats["counts"]["ok"] == 200, stats["counts"]
    got = records(broker, topic, 200)
    assert sorted(int(m.key()) for m in got) == list(range(200))  # each exactly once
