"""A paused consumer whose work was reclaimed wakes up without double-applying anything;
a consumer cut off from redis (through a real fault proxy) loses nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.pipeline.harness import ROOT, Deployment, by_order, effect_counts, free_port, payload


def _pause_scenario(deployment: Deployment, bug: str | None) -> dict[str, object]:
    sleeper = deployment.start_consumer(0, bug=bug, concurrency=32)
    deployment.publish("run-p", {i: payload(i) for i in range(1, 301)})
    deadline = time.monotonic() + 20
    while httpx.get(f"{sleeper.url()}/status", timeout=5).json()["in_flight"] < 5:
        assert time.monotonic() < deadline, "consumer never had work in flight"
    sleeper.proc.send_signal(signal.SIGSTOP)
    try:
        other = deployment.start_consumer(1, bug=bug)
        time.sleep(3.0)  # > reclaim_idle (1 s): the sleeper's entries are reclaimed
        reclaimed = httpx.get(f"{other.url()}/status", timeout=5).json()["reclaimed"]
    finally:
        sleeper.proc.send_signal(signal.SIGCONT)
    assert reclaimed >= 1
    deployment.wait_drained(60)
    return deployment.observe("run-p")


def test_paused_consumer_wakes_without_double_effects(deployment: Deployment) -> None:
    doc = _pause_scenario(deployment, None)
    rows = by_order(doc)
    assert len(rows) == 300 and all(r["outcome"] == 1 for r in rows.values())
    for effect in ("inventory.reserve", "payment.charge", "points.award"):
        counts = effect_counts(doc, effect)
        assert len(counts) == 300 and set(counts.values()) == {1}, effect


def test_paused_consumer_double_applies_without_idempotency(deployment: Deployment) -> None:
    doc = _pause_scenario(deployment, "no-idempotency")
    charges = effect_counts(doc, "payment.charge")
    assert max(charges.values()) >= 2


@pytest.fixture
def proxy_api() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "chaos.proxy", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/version", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "proxy server did not start"
                time.sleep(0.05)
        yield url
    finally:
        proc.kill()
        proc.wait(10)


def test_consumer_partitioned_from_redis_loses_nothing(deployment: Deployment,
                                                        proxy_api: str) -> None:
    listen = f"127.0.0.1:{free_port()}"
    httpx.post(f"{proxy_api}/proxies", json={"name": "consumer-0-broker", "listen": listen,
                                             "upstream": deployment.redis_address},
               timeout=5).raise_for_status()
    cut = deployment.start_consumer(0, redis=listen, concurrency=32)
    deployment.start_consumer(1)
    deployment.publish("run-n", {i: payload(i) for i in range(1, 201)})
    deadline = time.monotonic() + 20
    while httpx.get(f"{cut.url()}/status", timeout=5).json()["in_flight"] < 1:
        assert time.monotonic() < deadline
    httpx.post(f"{proxy_api}/proxies/consumer-0-broker", json={"enabled": False},
               timeout=5).raise_for_status()
    deployment.publish("run-n", {i: payload(i) for i in range(201, 401)})
    time.sleep(4.0)
    httpx.post(f"{proxy_api}/proxies/consumer-0-broker", json={"enabled": True},
               timeout=5).raise_for_status()
    deployment.wait_drained(60)
    doc = deployment.observe("run-n")
    rows = by_order(doc)
    assert len(rows) == 400 and all(r["outcome"] == 1 for r in rows.values())
    for effect in ("inventory.reserve", "payment.charge", "points.award"):
        assert set(effect_counts(doc, effect).values()) == {1}, effect
