"""The `outcome-stream` observer against a real RabbitMQ: the JSON events in a queue become
observations.json without being consumed; an unreachable broker, a missing queue or a body
that is not JSON is one line."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pika
import pytest

from chaos.observers.base import ObserverError
from chaos.observers.outcome_stream import OutcomeStreamObserver
from chaos.platforms.local import LocalPlatform
from chaos.platforms.ports import free_port


@pytest.fixture
def queue(servers: LocalPlatform) -> Iterator[str]:
    name = f"outcomes-{uuid.uuid4().hex[:8]}"
    channel = _channel(servers)
    channel.queue_declare(name, durable=True)
    yield name
    channel.queue_delete(name)
    channel.connection.close()


def _channel(servers: LocalPlatform) -> Any:
    host, port = servers.resolve("${component:broker/amqp}").rsplit(":", 1)
    return pika.BlockingConnection(pika.ConnectionParameters(host, int(port))).channel()


def emit(servers: LocalPlatform, queue: str, bodies: list[bytes]) -> None:
    channel = _channel(servers)
    for body in bodies:
        channel.basic_publish("", queue, body)
    channel.connection.close()


def observer(servers: LocalPlatform, queue: str) -> OutcomeStreamObserver:
    return OutcomeStreamObserver({"rabbitmq": servers.resolve("${component:broker/amqp}"),
                                  "queue": queue, "max_attempts": 5, "timeout": "3s",
                                  "effects": ["order.apply"], "tables": ["totals"]})


def test_events_become_observations_and_stay_queued(servers: LocalPlatform, queue: str) -> None:
    events = [
        {"run_id": "run-9", "order_id": 1, "outcome": "completed",
         "t_terminal": 1_700_000_000_000_000_000, "value": 250, "qty": 2, "points": 2},
        {"run_id": "run-9", "table": "effects", "effect": "order.apply", "order_id": 1},
        {"run_id": "run-9", "order_id": 2, "outcome": "dead_lettered", "redeliveries": 4},
        {"run_id": "run-9", "table": "dead_letters", "order_id": 2, "attempts": 5,
         "reason": "bad json"},
        {"run_id": "run-9", "table": "totals", "name": "charged", "value": 250},
        {"run_id": "other", "order_id": 3, "outcome": "completed"},
    ]
    emit(servers, queue, [orjson.dumps(e) for e in events])
    obs = observer(servers, queue)
    obs.prepare()
    doc = obs.collect("run-9")
    assert doc["orders"]["order_id"] == [1, 2] and doc["orders"]["outcome"] == [1, 3]
    assert doc["orders"]["t_terminal"] == [1_700_000_000_000_000_000, -1]
    assert doc["effects"] == {"order.apply": {"order_id": [1], "count": [1]}}
    assert doc["dead_letters"] == {"order_id": [2], "attempts": [5], "reason": ["bad json"]}
    assert doc["totals"] == {"charged": 250}
    again = obs.collect("run-9")  # a second read sees the same events
    assert {**again, "t_observed": 0} == {**doc, "t_observed": 0}
    ok = _channel(servers).queue_declare(queue, passive=True)
    assert ok.method.message_count == len(events)  # nothing consumed: all back in the queue


def test_missing_queue_is_one_line(servers: LocalPlatform) -> None:
    with pytest.raises(ObserverError) as err:
        observer(servers, "no-such-queue").prepare()
    assert str(err.value).endswith("queue no-such-queue: NOT_FOUND - no queue 'no-such-queue' "
                                   "in vhost '/'")


def test_unreachable_broker_is_one_line() -> None:
    address = f"127.0.0.1:{free_port()}"
    obs = OutcomeStreamObserver({"rabbitmq": address, "queue": "q", "timeout": "2s"})
    with pytest.raises(ObserverError) as err:
        obs.prepare()
    assert str(err.value).startswith(f"outcome-stream observer cannot reach rabbitmq {address} "
                                     f"queue q: ")
    assert "\n" not in str(err.value)


def test_body_that_is_not_json_is_one_line(servers: LocalPlatform, queue: str) -> None:
    emit(servers, queue, [orjson.dumps({"order_id": 1, "outcome": "completed"}), b"<xml/>"])
    with pytest.raises(ObserverError, match=f"queue {queue} message 2: the body is not JSON"):
        observer(servers, queue).collect("run-1")
