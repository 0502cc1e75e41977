"""Stream probes against a real redis and real consumers (6.2 fallback included)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from chaos.probes.base import ProbeEnv, ProbeError
from chaos.probes.redis_stream import COMPLETION_RATE, DLQ_LENGTH, LAG, PENDING, lag_of
from tests.pipeline.harness import Deployment, payload


def env(settings: dict[str, Any]) -> ProbeEnv:
    return ProbeEnv(target=cast(Any, None), platform=cast(Any, None), settings=settings)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Deployment]:
    dep = Deployment(tmp_path)
    try:
        dep.start_broker()
        yield dep
    finally:
        dep.stop_all()


def test_lag_pending_dlq_follow_the_stream(broker: Deployment) -> None:
    e = env({"redis": broker.redis_address})
    assert LAG.measure(e) == 0.0  # no stream yet
    r = broker.redis()
    r.xgroup_create("orders", "workers", id="0", mkstream=True)
    broker.publish("run-x", {i: payload(i) for i in range(10)})
    assert LAG.measure(e) == 10.0
    assert PENDING.measure(e) == 0.0
    r.xreadgroup("workers", "c1", {"orders": ">"}, count=4)
    assert LAG.measure(e) == 6.0
    assert PENDING.measure(e) == 4.0
    info = next(g for g in r.xinfo_groups("orders") if g["name"] == "workers")
    info = dict(info, lag=None)  # what redis 6.2 reports: count the entries instead
    assert lag_of(r, "orders", info) == 6
    assert DLQ_LENGTH.measure(e) == 0.0
    r.xadd("orders:dlq", {"order_id": "1"})
    assert DLQ_LENGTH.measure(e) == 1.0


def test_errors_are_probe_errors(broker: Deployment) -> None:
    with pytest.raises(ProbeError, match="host:port"):
        LAG.measure(env({"redis": "nowhere"}))
    broker.redis().xadd("orders", {"a": "b"})
    with pytest.raises(ProbeError, match="group"):
        PENDING.measure(env({"redis": broker.redis_address}))
    dead = redis.Redis(port=1).connection_pool.connection_kwargs["port"]
    with pytest.raises(ProbeError):
        DLQ_LENGTH.measure(env({"redis": f"127.0.0.1:{dead}"}))


def test_completion_rate_measures_consumer_progress(deployment: Deployment) -> None:
    e = env({"redis": deployment.redis_address})
    assert COMPLETION_RATE.measure(e) == 0.0
    deployment.start_consumer(0)
    deployment.publish("run-r", {i: payload(i) for i in range(1, 801)})
    time.sleep(1.0)
    rate = COMPLETION_RATE.measure(e)
    assert rate > 10.0
    deployment.wait_drained(60)
    COMPLETION_RATE.measure(e)
    assert COMPLETION_RATE.measure(e) == 0.0
