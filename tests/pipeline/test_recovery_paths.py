"""The consumer's own paths for a broker that is away longer than the redis retry budget,
and for a graceful stop with work in flight: reached, counted, and published for the
observer (the e2e experiments rolling-restart, consumer-broker-outage, broker-outage run
them under load; these run them directly, in seconds)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chaos.observers.consumer_counts import consumer_counts
from targets.reference import recovery
from targets.reference.counters import Counters
from targets.reference.shutdown import ack_and_drop, finish_or_release
from tests.pipeline.harness import Deployment, by_order, free_port, payload

# ---------------------------------------------------------------- the redis retry budget


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server that accepts connections and never answers: a blackholed broker."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        listener.close()
        for conn in accepted:
            conn.close()


def _failed_ping_took(port: int, socket_timeout_s: float, error: type[Exception]) -> float:
    """Seconds until a ping through the consumer's client fails with `error`."""

    async def ping() -> float:
        client = recovery.client("127.0.0.1", port, socket_timeout_s, max_connections=4)
        start = time.monotonic()
        try:
            with pytest.raises(error):
                await client.ping()
            return time.monotonic() - start
        finally:
            await client.aclose()

    return asyncio.run(ping())


def test_budget_is_explicit_on_a_silent_broker(
        silent_server: tuple[int, list[socket.socket]]) -> None:
    """No library retries: one connection, one socket timeout, then the error is the
    consumer's (redis-py 8 on its defaults would make 11 and wait 7.5 s)."""
    port, accepted = silent_server
    took = _failed_ping_took(port, 0.3, RedisTimeoutError)
    assert 1 <= len(accepted) <= recovery.RETRIES + 1
    assert took < recovery.budget_s(0.3) + 1.0


def test_budget_on_a_refusing_broker_is_short() -> None:
    assert _failed_ping_took(free_port(), 3.0, RedisConnectionError) < 1.5


# ---------------------------------------------------------------- a broker away, for real


def _status(url: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{url}/status", timeout=5).json()
    return body


def _broker_away(deployment: Deployment, bug: str | None, away_s: float = 2.0) -> str:
    """Drain a first batch, kill the broker, keep it away `away_s`, restart it, publish a
    second batch; returns the consumer's admin URL."""
    consumer = deployment.start_consumer(0, bug=bug)
    deployment.publish("run-r", {i: payload(i) for i in range(1, 11)})
    deployment.wait_drained(30)
    broker = next(p for p in deployment.pods if p.component == "redis")
    deployment.kill(broker)
    time.sleep(away_s)  # refused connections: far beyond the ~0.1 s budget
    deployment.start_broker()
    deployment.publish("run-r", {i: payload(i) for i in range(11, 21)})
    return consumer.url()


def test_consumer_reconnects_and_counts_it(deployment: Deployment) -> None:
    url = _broker_away(deployment, bug=None)
    deployment.wait_drained(30)
    rows = by_order(deployment.observe("run-r"))
    assert len(rows) == 20 and all(r["outcome"] == 1 for r in rows.values())
    paths = _status(url)["paths"]
    for path in ("read", "reconnect"):
        assert paths[path]["recoveries"] >= 1, paths
    assert paths["read"]["errors"] >= 1
    deadline = time.monotonic() + 5  # published within PUBLISH_EVERY_S of the change
    while time.monotonic() < deadline:
        seen = deployment.observe("run-r")["consumers"]["paths"]
        if seen.get("reconnect", {}).get("recoveries", 0) >= 1:
            break
        time.sleep(0.2)
    assert seen["read"]["recoveries"] >= 1 and seen["reconnect"]["recoveries"] >= 1, seen


def test_no_reconnect_bug_stops_consuming(deployment: Deployment) -> None:
    url = _broker_away(deployment, bug="no-reconnect")
    time.sleep(3)
    assert not deployment.observer().drained()
    rows = by_order(deployment.observe("run-r"))
    assert sum(r["outcome"] == 0 for r in rows.values()) == 10
    paths = _status(url)["paths"]
    assert paths["read"]["errors"] >= 1 and paths["read"]["recoveries"] == 0


# ---------------------------------------------------------------- graceful stop


def test_finish_or_release_counts_both_halves() -> None:
    async def scenario() -> tuple[Counters, list[bool]]:
        quick = [asyncio.create_task(asyncio.sleep(0.01)) for _ in range(3)]
        slow = [asyncio.create_task(asyncio.sleep(30)) for _ in range(2)]
        counters = Counters()
        await finish_or_release({*quick, *slow}, 0.3, counters)
        await asyncio.gather(*slow, return_exceptions=True)
        return counters, [t.cancelled() for t in slow]

    counters, cancelled = asyncio.run(scenario())
    assert counters.snapshot()["shutdown"] == {"in_flight": 5, "finished": 3, "released": 2}
    assert all(cancelled)


def test_ack_and_drop_acks_what_it_holds() -> None:
    acked: list[str] = []

    async def ack(entry_id: str) -> None:
        acked.append(entry_id)

    async def scenario() -> Counters:
        tasks = {asyncio.create_task(asyncio.sleep(30)) for _ in range(2)}
        counters = Counters()
        await ack_and_drop(tasks, {"2-0", "1-0"}, ack, counters)
        await asyncio.gather(*tasks, return_exceptions=True)
        return counters

    counters = asyncio.run(scenario())
    assert acked == ["1-0", "2-0"]
    assert counters.snapshot()["shutdown"]["released"] == 2


# ---------------------------------------------------------------- counters and observer


def test_counters_count_runs_of_failures() -> None:
    counters = Counters()
    counters.ok("read")
    for _ in range(3):
        counters.failed("read", OSError("down"))
    counters.ok("read")
    counters.ok("read")
    counters.recovered("reconnect")
    paths = counters.snapshot()["paths"]
    assert paths["read"] == {"errors": 3, "recoveries": 1}
    assert paths["reconnect"] == {"errors": 0, "recoveries": 1}


def test_observer_section_sums_pods_and_skips_garbage() -> None:
    a, b = Counters(), Counters()
    a.failed("read", OSError())
    a.ok("read")
    a.stopped(5, 4, 1)
    b.stopped(2, 2, 0)
    raw = {"consumer-0-aaaa": orjson.dumps(a.snapshot()).decode(),
           "consumer-1-bbbb": orjson.dumps(b.snapshot()).decode(),
           "consumer-2-cccc": "{not json", "consumer-3-dddd": "[1]"}
    section = consumer_counts(raw)
    assert sorted(section["pods"]) == ["consumer-0-aaaa", "consumer-1-bbbb"]
    assert section["shutdown"] == {"in_flight": 7, "finished": 6, "released": 1}
    assert section["paths"]["read"] == {"errors": 1, "recoveries": 1}
    assert section["scope"] == "deployment"
    assert consumer_counts({})["shutdown"] == {"in_flight": 0, "finished": 0, "released": 0}


def test_observer_section_sums_tls_and_compensation_counts() -> None:
    a, b = Counters(), Counters()
    a.tls_failed("expired")
    a.tls_failed("handshake-timeout")
    b.tls_failed("handshake-timeout")
    a.undo_call("inventory", failed=True)
    a.undo_call("inventory", failed=False)
    b.undo_call("inventory", failed=True)
    b.undo_call("payment", failed=False)
    section = consumer_counts({"consumer-0-aaaa": orjson.dumps(a.snapshot()).decode(),
                               "consumer-1-bbbb": orjson.dumps(b.snapshot()).decode()})
    assert section["tls"] == {"expired": 1, "handshake-timeout": 2}
    assert section["compensation"] == {"inventory": {"calls": 3, "failures": 2},
                                       "payment": {"calls": 1, "failures": 0}}
    assert section["pods"]["consumer-1-bbbb"]["tls"] == {"handshake-timeout": 1}
    assert consumer_counts({})["compensation"] == {}
