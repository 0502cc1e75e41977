"""SIGKILL a consumer at each crash point: a replacement (new name) reclaims its pending
entries; the observer proves nothing is lost and no effect is applied twice."""

from __future__ import annotations

import signal

import httpx
import pytest

from targets.reference.crash import POINTS
from tests.pipeline.harness import Deployment, by_order, effect_counts, payload


def test_a_disarmed_crash_point_does_not_fire(deployment: Deployment) -> None:
    consumer = deployment.start_consumer(0)
    deployment.crash(consumer, "before-effects")
    answer = httpx.delete(f"{consumer.url()}/crash", timeout=5)
    assert answer.json() == {"ok": True, "armed": None}
    deployment.publish("run-d", {i: payload(i) for i in range(1, 6)})
    deployment.wait_drained(30)
    assert consumer.proc.poll() is None
    assert httpx.get(f"{consumer.url()}/status", timeout=5).json()["armed"] is None


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_crash_point_loses_nothing(deployment: Deployment, point: str) -> None:
    victim = deployment.start_consumer(0)
    deployment.crash(victim, point)
    orders: dict[int, object] = {i: payload(i) for i in range(1, 41)}
    orders[41] = payload(41, card="4000000000000002")
    deployment.publish("run-c", orders)
    assert victim.proc.wait(timeout=30) == -signal.SIGKILL
    deployment.start_consumer(0)  # the replacement: same slot, new consumer name
    deployment.wait_drained(60)
    doc = deployment.observe("run-c")
    rows = by_order(doc)
    assert sorted(rows) == list(range(1, 42))
    assert all(r["outcome"] in (1, 2) for r in rows.values()), rows
    assert rows[41]["outcome"] == 2
    for effect in ("inventory.reserve", "payment.charge", "points.award", "inventory.release"):
        counts = effect_counts(doc, effect)
        assert set(counts.values()) <= {1}, (effect, counts)
    assert len(effect_counts(doc, "points.award")) == 40
    if point != "after-ack":  # the victim died holding work: someone redelivered it
        assert sum(r["redeliveries"] for r in rows.values()) >= 1
    t = doc["totals"]
    assert t["stock"] + t["reserved"] == t["initial_stock"]
    assert t["charged"] - t["refunded"] == sum(r["value"] for r in rows.values()
                                               if r["outcome"] == 1)


def test_sigterm_finishes_in_flight_and_exits_cleanly(deployment: Deployment) -> None:
    consumer = deployment.start_consumer(0)
    deployment.publish("run-t", {i: payload(i) for i in range(1, 101)})
    assert deployment.kill(consumer, signal.SIGTERM) == 0
    deployment.start_consumer(1)
    deployment.wait_drained(60)
    doc = deployment.observe("run-t")
    assert all(o == 1 for o in doc["orders"]["outcome"])
    assert set(effect_counts(doc, "payment.charge").values()) == {1}


def test_service_restart_loses_nothing(deployment: Deployment) -> None:
    for i in range(2):
        deployment.start_consumer(i)
    inventory = next(p for p in deployment.pods if p.component == "inventory")
    deployment.publish("run-s", {i: payload(i) for i in range(1, 201)})
    deployment.kill(inventory)
    deployment.publish("run-s", {i: payload(i) for i in range(201, 401)})
    deployment.start("inventory", 0, "targets.reference.services.inventory", ["http", "admin"],
                     {"skus": 10, "initial_stock": 100000})
    deployment.wait_drained(60)
    doc = deployment.observe("run-s")
    assert doc["orders"]["order_id"] == list(range(1, 401))
    assert all(o == 1 for o in doc["orders"]["outcome"])
    reserve = effect_counts(doc, "inventory.reserve")
    assert len(reserve) == 400 and set(reserve.values()) == {1}
    t = doc["totals"]
    assert t["stock"] + t["reserved"] == t["initial_stock"]
    assert t["reserved"] == sum(doc["orders"]["qty"])
