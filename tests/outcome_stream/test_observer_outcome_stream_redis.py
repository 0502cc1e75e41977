"""The `outcome-stream` observer against a real redis-server: the events on a stream become
observations.json; an unreachable server, a key that is not a stream or a stream of something
else is one line in prepare(), and a run stops there with exit 3 before any fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from chaos.checks.observations_file import read_observations
from chaos.observers import outcome_stream
from chaos.observers.base import ObserverError
from chaos.observers.outcome_stream import OutcomeStreamObserver
from chaos.platforms.ports import free_port
from chaos.registry import observers
from tests.core.core_helpers import run_stopped_in_prepare

EVENTS: list[dict[str, Any]] = [
    {"run_id": "run-9", "order_id": 2, "outcome": "dead_lettered", "redeliveries": 4,
     "value": 300, "qty": 1, "points": 3},
    {"run_id": "run-9", "table": "effects", "effect": "order.apply", "order_id": 1},
    {"run_id": "run-9", "table": "effects", "effect": "order.apply", "order_id": 1},
    {"run_id": "run-9", "order_id": 1, "outcome": "none"},
    {"run_id": "run-9", "order_id": 1, "outcome": "completed",  # the last event wins
     "t_terminal": 1_700_000_000_000_000_000, "value": 250, "qty": 2, "points": 2},
    {"run_id": "run-9", "table": "dead_letters", "order_id": 2, "attempts": 5,
     "reason": "bad json\nsecond line"},
    {"run_id": "run-9", "table": "totals", "name": "charged", "value": 250},
    {"run_id": "run-9", "table": "handled_by", "order_id": 1, "pod": "worker-0"},
    {"run_id": "other", "order_id": 3, "outcome": "completed"},  # another run: skipped
    {"order_id": 4, "outcome": "3"},  # no run_id: counts for every run; outcome by its code
]


def observer(port: int, **extra: Any) -> OutcomeStreamObserver:
    return OutcomeStreamObserver({"redis": f"127.0.0.1:{port}", "stream": "outcomes",
                                  "max_attempts": 5, "effects": ["order.apply"],
                                  "tables": ["totals", "handled_by"], "timeout": "2s", **extra})


def emit(port: int, events: list[dict[str, Any]], stream: str = "outcomes") -> None:
    client = redis.Redis(host="127.0.0.1", port=port)
    for event in events:  # a Redis stream holds strings: "" is NULL
        client.xadd(stream, {k: "" if v is None else str(v) for k, v in event.items()})
    client.close()


def test_is_registered() -> None:
    assert observers.get("outcome-stream") is OutcomeStreamObserver


def test_events_become_observations(redis_port: int, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outcome_stream, "_CHUNK", 3)  # several XRANGE pages
    emit(redis_port, EVENTS)
    obs = observer(redis_port)
    obs.prepare()
    assert obs.drained()
    obs.observe("run-9", tmp_path / "observations.json")
    doc = orjson.loads((tmp_path / "observations.json").read_bytes())
    assert doc["observer"] == "outcome-stream" and doc["run_id"] == "run-9"
    assert doc["orders"] == {
        "order_id": [1, 2, 4], "outcome": [1, 3, 3],
        "t_terminal": [1_700_000_000_000_000_000, -1, -1], "redeliveries": [0, 4, 0],
        "value": [250, 300, 0], "qty": [2, 1, 0], "points": [2, 3, 0]}
    assert doc["effects"] == {"order.apply": {"order_id": [1], "count": [2]}}
    assert doc["dead_letters"] == {"order_id": [2], "attempts": [5], "reason": ["bad json"]}
    assert doc["totals"] == {"charged": 250}
    assert doc["handled_by"] == {"pods": ["worker-0"], "order_id": [1], "pod": [0]}
    assert read_observations(tmp_path / "observations.json").order_id.tolist() == [1, 2, 4]
    # reading does not consume: a second read sees the same events
    assert obs.collect("run-9")["orders"] == doc["orders"]


def test_no_stream_yet_is_an_empty_run(redis_port: int) -> None:
    obs = observer(redis_port)
    obs.prepare()  # the pipeline may create the stream with its first event
    assert obs.collect("run-1")["orders"]["order_id"] == []


def test_unreachable_server_is_one_line() -> None:
    port = free_port()
    with pytest.raises(ObserverError, match=rf"^outcome-stream observer cannot reach redis "
                                            rf"127.0.0.1:{port} stream outcomes: ConnectionError"):
        observer(port).prepare()


def test_key_that_is_not_a_stream_is_one_line(redis_port: int) -> None:
    redis.Redis(host="127.0.0.1", port=redis_port).rpush("outcomes", "x")
    with pytest.raises(ObserverError, match=r"stream outcomes: the key is a list, not a stream$"):
        observer(redis_port).prepare()


def test_stream_of_something_else_is_one_line(redis_port: int) -> None:
    emit(redis_port, [{"order_id": 1, "run_id": "r", "payload": "{}"}])  # the orders stream
    with pytest.raises(ObserverError) as err:
        observer(redis_port).prepare()
    assert "is not an outcome event: table orders needs outcome " \
           "(fields: order_id, run_id, payload)" in str(err.value)


@pytest.mark.parametrize(("event", "message"), [
    ({"table": "stock", "x": 1}, "unknown table 'stock'"),
    ({"table": "effects", "order_id": 1}, "table effects needs effect"),
    ({"order_id": "one", "outcome": "completed"}, "a value of the wrong type"),
    ({"order_id": 1, "outcome": "lost"}, "unknown outcome 'lost'"),
])
def test_malformed_event_is_one_line_when_observed(redis_port: int, event: dict[str, Any],
                                                   message: str) -> None:
    emit(redis_port, [*([{"order_id": 9, "outcome": "none"}] * 20), event])
    obs = observer(redis_port)
    with pytest.raises(ObserverError) as err:
        obs.collect("run-1")
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(("settings", "message"), [
    ({"stream": "s"}, "needs exactly one of the settings redis (with stream) or rabbitmq"),
    ({"redis": "h:1", "rabbitmq": "h:2"}, "needs exactly one of the settings"),
    ({"redis": "nohost"}, "setting redis must be host:port, got 'nohost'"),
    ({"redis": "h:1"}, "setting stream is required with redis"),
    ({"rabbitmq": "h:1"}, "setting queue is required with rabbitmq"),
    ({"redis": "h:1", "stream": "s", "tables": ["drained"]}, "setting tables: a list of"),
    ({"redis": "h:1", "stream": "s", "timeout": 3}, "setting timeout: must be a duration"),
    ({"redis": "h:1", "stream": "s", "colour": 1}, "observer setting(s): colour"),
])
def test_bad_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ObserverError) as err:
        OutcomeStreamObserver(settings)
    assert message in str(err.value)


def test_unreachable_server_exits_3_before_any_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    address = f"127.0.0.1:{free_port()}"
    reason = run_stopped_in_prepare(tmp_path, monkeypatch, {
        "type": "outcome-stream", "settings": {"redis": address, "stream": "outcomes"}})
    assert reason.startswith(f"observer outcome-stream: outcome-stream observer "
                             f"cannot reach redis {address} stream outcomes:")
