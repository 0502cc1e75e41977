"""RedisStreamPublisher against a real redis-server: fields written and outcome classes."""

from __future__ import annotations

import time

import pytest

from chaos.publishers.redis_stream import RedisStreamPublisher
from tests.redisproc import free_port

from .conftest import RedisServer
from .forwarder import TcpForwarder


def test_ok_writes_contract_fields(redis_server: RedisServer) -> None:
    pub = RedisStreamPublisher({"address": redis_server.address, "stream": "orders"}, "run-7")
    before = time.time_ns()
    assert pub.publish(41, b'{"sku": "sku-1"}').outcome == "ok"
    assert pub.publish(42, b"{not json").outcome == "ok"
    pub.close()
    entries = redis_server.client().xrange("orders")
    assert [e[1][b"order_id"] for e in entries] == [b"41", b"42"]
    fields = entries[0][1]
    assert fields[b"run_id"] == b"run-7"
    assert fields[b"payload"] == b'{"sku": "sku-1"}'
    assert before <= int(fields[b"ts"]) <= time.time_ns()


def test_maxlen_trims(redis_server: RedisServer) -> None:
    pub = RedisStreamPublisher({"address": redis_server.address, "maxlen": 10}, "r")
    for i in range(500):
        assert pub.publish(i, b"{}").outcome == "ok"
    assert redis_server.client().xlen("orders") < 500


def test_refused_connection_is_fail() -> None:
    pub = RedisStreamPublisher({"address": f"127.0.0.1:{free_port()}"}, "r")
    result = pub.publish(1, b"{}")
    assert result.outcome == "fail"
    assert result.error == "ConnectionRefusedError"


def test_redis_error_reply_is_fail(redis_server: RedisServer) -> None:
    redis_server.client().set("orders", "not a stream")
    result = RedisStreamPublisher({"address": redis_server.address}, "r").publish(1, b"{}")
    assert result.outcome == "fail"
    assert result.error == "ResponseError"


def test_blackhole_is_info_then_fresh_connection_recovers(
    redis_server: RedisServer, forwarder: TcpForwarder
) -> None:
    pub = RedisStreamPublisher({"address": forwarder.address, "timeout": "300ms"}, "r")
    assert pub.publish(1, b"{}").outcome == "ok"
    forwarder.set_mode("blackhole")
    started = time.monotonic()
    result = pub.publish(2, b"{}")
    assert result.outcome == "info"
    assert result.error == "TimeoutError"
    assert time.monotonic() - started >= 0.29  # waited for the timeout, no silent retry
    fresh = RedisStreamPublisher({"address": forwarder.address, "timeout": "300ms"}, "r")
    assert fresh.publish(9, b"{}").outcome == "info"  # connecting sends nothing; XADD did go
    forwarder.set_mode("pass")
    assert pub.publish(3, b"{}").outcome == "ok"
    assert redis_server.stream_ids() == [1, 3]


def test_reset_after_send_is_info_and_refused_reconnect_is_fail(
    redis_server: RedisServer, forwarder: TcpForwarder
) -> None:
    pub = RedisStreamPublisher({"address": forwarder.address, "timeout": "500ms"}, "r")
    assert pub.publish(1, b"{}").outcome == "ok"  # leaves a pooled connection
    forwarder.set_mode("refuse")  # aborts it and stops listening
    assert pub.publish(2, b"{}").outcome == "info"  # written to a connection that died
    assert pub.publish(3, b"{}").outcome == "fail"  # cannot connect: nothing sent
    forwarder.set_mode("pass")
    assert pub.publish(4, b"{}").outcome == "ok"
    assert redis_server.stream_ids() == [1, 4]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "address must be host:port"),
        ({"address": "localhost"}, "address must be host:port"),
        ({"address": "h:99999"}, "address must be host:port"),
        ({"address": "h:1", "timeout": "soon"}, "timeout"),
        ({"address": "h:1", "maxlen": 0}, "maxlen"),
        ({"address": "h:1", "colour": "red"}, "unknown redis-stream setting(s): colour"),
    ],
)
def test_bad_settings_are_one_line_errors(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        RedisStreamPublisher(settings, "r")
    assert "\n" not in str(e.value)
