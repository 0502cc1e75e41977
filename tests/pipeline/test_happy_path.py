"""Three consumers, real redis and services: every order terminal once, effects once."""

from __future__ import annotations

from chaos.checks.observations_file import read_observations
from tests.pipeline.harness import Deployment, by_order, effect_counts, payload


def test_happy_path_orders_complete_or_compensate(deployment: Deployment) -> None:
    for i in range(3):
        deployment.start_consumer(i)
    orders: dict[int, object] = {i: payload(i) for i in range(1, 301)}
    orders[301] = payload(301, card="4000000000000002")  # declined: release reserve
    orders[302] = payload(302, customer="c-blocked")  # points rejected: refund + release
    orders[303] = payload(303, qty=10**9)  # out of stock: nothing to undo
    deployment.publish("run-a", orders)
    deployment.wait_drained(60)
    doc = deployment.observe("run-a")
    rows = by_order(doc)
    assert sorted(rows) == list(range(1, 304))
    completed = [o for o, r in rows.items() if r["outcome"] == 1]
    assert len(completed) == 300
    assert {rows[o]["outcome"] for o in (301, 302, 303)} == {2}
    assert all(r["t_terminal"] > 0 for r in rows.values())
    reserve = effect_counts(doc, "inventory.reserve")
    assert set(reserve.values()) == {1}
    assert set(reserve) == set(range(1, 303))
    assert effect_counts(doc, "inventory.release") == {301: 1, 302: 1}
    assert effect_counts(doc, "payment.refund") == {302: 1}
    assert 301 not in effect_counts(doc, "payment.charge")
    assert effect_counts(doc, "points.revoke") == {}
    t = doc["totals"]
    assert t["stock"] + t["reserved"] == t["initial_stock"] == 10 * 100000
    value = sum(rows[o]["value"] for o in completed)
    assert t["charged"] - t["refunded"] == value
    assert t["points"] == sum(rows[o]["points"] for o in completed)
    assert doc["dead_letters"]["order_id"] == []
    model = read_observations(deployment.root / "observations-run-a.json")  # the contract
    assert model.order_id.tolist() == list(range(1, 304))
    assert model.totals["charged"] == t["charged"]
    assert model.settings["max_attempts"] == 3


def test_poison_is_dead_lettered_after_max_attempts(deployment: Deployment) -> None:
    deployment.start_consumer(0)
    deployment.publish("run-p", {1: "{not json", 2: '{"sku": "sku-1"}', 3: payload(3)})
    deployment.wait_drained(60)
    doc = deployment.observe("run-p")
    rows = by_order(doc)
    assert rows[1]["outcome"] == rows[2]["outcome"] == 3
    assert rows[3]["outcome"] == 1
    dl = doc["dead_letters"]
    assert sorted(dl["order_id"]) == [1, 2]
    assert dl["attempts"] == [3, 3]
    assert any("not valid JSON" in r for r in dl["reason"])
    assert rows[1]["redeliveries"] == 2
