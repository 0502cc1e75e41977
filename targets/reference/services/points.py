"""Points: award / revoke loyalty points (amount // 100). Blocked customers are rejected."""

from __future__ import annotations

from functools import partial
from typing import Any

from targets.reference.pod import load_pod
from targets.reference.services.app import run
from targets.reference.services.store import Response, Store, Tx

BLOCKED = ("c-blocked",)


def points_of(amount: int) -> int:
    return amount // 100


def award(tx: Tx, body: dict[str, Any], blocked: tuple[str, ...] = BLOCKED) -> Response:
    amount, customer = body.get("amount"), body.get("customer")
    if not isinstance(amount, int) or amount < 0 or not isinstance(customer, str):
        return 400, {"result": "error", "reason": "amount (>= 0) and customer required"}
    if tx.cancelled(body["run_id"], body["order_id"], "points.award"):
        return 409, {"result": "rejected", "reason": "cancelled"}
    if customer in blocked:
        return 422, {"result": "rejected", "reason": "customer_blocked"}
    points = points_of(amount)
    tx.add("points", points)
    tx.apply(body["run_id"], body["order_id"], "points.award", points)
    return 200, {"result": "ok", "applied": True}


def revoke(tx: Tx, body: dict[str, Any]) -> Response:
    points = tx.undo_one(body["run_id"], body["order_id"], "points.award")
    if points is None:
        return 200, {"result": "ok", "applied": False}
    tx.add("points", -points)
    tx.apply(body["run_id"], body["order_id"], "points.revoke", points)
    return 200, {"result": "ok", "applied": True}


def totals(store: Store) -> dict[str, int]:
    return {"points": store.kv().get("points", 0)}


def main() -> None:
    pod = load_pod()
    store = Store(pod.data_dir / "points.db", str(pod.settings.get("synchronous", "NORMAL")))
    store.init_kv({"points": 0})
    blocked = tuple(str(c) for c in pod.settings.get("blocked_customers", BLOCKED))
    run(pod, {"award": partial(award, blocked=blocked), "revoke": revoke}, store, totals, "http")


if __name__ == "__main__":
    main()
