"""Each known-bad variant shows its anomaly in the observations (the checkers' targets)."""

from __future__ import annotations

import signal
import time

import httpx

from tests.pipeline.harness import Deployment, by_order, effect_counts, payload


def _kill_at(deployment: Deployment, point: str, bug: str, n: int = 20) -> None:
    victim = deployment.start_consumer(0, bug=bug)
    deployment.crash(victim, point)
    deployment.publish("run-b", {i: payload(i) for i in range(1, n + 1)})
    assert victim.proc.wait(timeout=30) == -signal.SIGKILL
    deployment.start_consumer(0, bug=bug)


def test_ack_before_effects_loses_orders(deployment: Deployment) -> None:
    _kill_at(deployment, "before-effects", "ack-before-effects")
    deployment.wait_drained(60)  # drains: the lost entries were already acknowledged
    rows = by_order(deployment.observe("run-b"))
    lost = [o for o, r in rows.items() if r["outcome"] == 0]
    assert len(rows) == 20 and lost


def test_no_idempotency_applies_effects_twice(deployment: Deployment) -> None:
    _kill_at(deployment, "after-effects-before-ack", "no-idempotency")
    deployment.wait_drained(60)
    doc = deployment.observe("run-b")
    assert all(r["outcome"] == 1 for r in by_order(doc).values())
    twice = [o for o, c in effect_counts(doc, "payment.charge").items() if c > 1]
    assert twice
    t = doc["totals"]
    completed_value = sum(doc["orders"]["value"])
    assert t["charged"] - t["refunded"] > completed_value


def test_no_compensation_leaves_steps_applied(deployment: Deployment) -> None:
    deployment.start_consumer(0, bug="no-compensation")
    deployment.publish("run-b", {1: payload(1, card="4000000000000002"),
                                 2: payload(2, customer="c-blocked"), 3: payload(3)})
    deployment.wait_drained(60)
    doc = deployment.observe("run-b")
    rows = by_order(doc)
    assert rows[1]["outcome"] == rows[2]["outcome"] == 2
    assert effect_counts(doc, "inventory.reserve").get(1) == 1
    assert effect_counts(doc, "inventory.release") == {}
    assert effect_counts(doc, "payment.charge").get(2) == 1
    assert effect_counts(doc, "payment.refund") == {}


def test_no_reclaim_leaves_entries_stuck_pending(deployment: Deployment) -> None:
    _kill_at(deployment, "before-effects", "no-reclaim")
    deployment.publish("run-b", {i: payload(i) for i in range(21, 31)})
    time.sleep(3.0)  # three reclaim idle times
    obs = deployment.observer()
    assert not obs.drained()
    pending = deployment.redis().xpending("orders", "workers")["pending"]
    assert pending >= 1
    rows = by_order(deployment.observe("run-b"))
    assert sum(1 for r in rows.values() if r["outcome"] == 0) == pending
    assert all(rows[o]["outcome"] == 1 for o in range(21, 31))


def test_no_dlq_retries_poison_forever(deployment: Deployment) -> None:
    consumer = deployment.start_consumer(0, bug="no-dlq")
    deployment.publish("run-b", {1: "{not json", 2: payload(2)})
    time.sleep(6.0)  # max_attempts is 3, reclaim idle 1 s: it would be dead by now
    assert not deployment.observer().drained()
    doc = deployment.observe("run-b")
    rows = by_order(doc)
    assert rows[1]["outcome"] == 0 and rows[2]["outcome"] == 1
    assert rows[1]["redeliveries"] >= 3  # beyond max_attempts
    assert doc["dead_letters"]["order_id"] == []
    status = httpx.get(f"{consumer.url()}/status", timeout=5).json()
    assert status["dead_lettered"] == 0 and status["reclaimed"] >= 3


def test_dead_letter_valid_gives_up_on_good_orders(deployment: Deployment) -> None:
    consumer = deployment.start_consumer(0, bug="dead-letter-valid")
    deployment.publish("run-b", {i: payload(i) for i in range(1, 21)})
    deployment.wait_drained(60)
    doc = deployment.observe("run-b")
    rows = by_order(doc)
    dead = {o for o, r in rows.items() if r["outcome"] == 3}
    assert dead == {7, 17}  # valid orders, dead-lettered on their first delivery
    assert all(rows[o]["outcome"] == 1 for o in rows if o not in dead)
    assert sorted(doc["dead_letters"]["order_id"]) == [7, 17]
    assert set(doc["dead_letters"]["attempts"]) == {1}
    assert effect_counts(doc, "inventory.reserve").get(7) is None  # no saga ran
    status = httpx.get(f"{consumer.url()}/status", timeout=5).json()
    assert status["dead_lettered"] == 2
