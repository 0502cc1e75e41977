"""Inventory: reserve / release stock per SKU. Out of stock is a business rejection."""

from __future__ import annotations

from typing import Any

from targets.reference.pod import die, load_pod
from targets.reference.services.app import run
from targets.reference.services.store import Response, Store, Tx


def reserve(tx: Tx, body: dict[str, Any]) -> Response:
    sku, qty = body.get("sku"), body.get("qty")
    if not isinstance(sku, str) or not isinstance(qty, int) or qty <= 0:
        return 400, {"result": "error", "reason": "sku (string) and qty (> 0) required"}
    if tx.cancelled(body["run_id"], body["order_id"], "inventory.reserve"):
        return 409, {"result": "rejected", "reason": "cancelled"}
    stock = tx.get(f"stock:{sku}", -1)
    if stock < qty:
        reason = "out_of_stock" if stock >= 0 else "unknown_sku"
        return 422, {"result": "rejected", "reason": reason}
    tx.add(f"stock:{sku}", -qty)
    tx.add("reserved", qty)
    tx.apply(body["run_id"], body["order_id"], "inventory.reserve", qty)
    return 200, {"result": "ok", "applied": True}


def release(tx: Tx, body: dict[str, Any]) -> Response:
    qty = tx.undo_one(body["run_id"], body["order_id"], "inventory.reserve")
    if qty is None:
        return 200, {"result": "ok", "applied": False}  # nothing reserved: nothing to undo
    sku = body.get("sku")
    tx.add(f"stock:{sku}", qty)
    tx.add("reserved", -qty)
    tx.apply(body["run_id"], body["order_id"], "inventory.release", qty)
    return 200, {"result": "ok", "applied": True}


def totals(store: Store) -> dict[str, int]:
    kv = store.kv()
    stock = sum(v for k, v in kv.items() if k.startswith("stock:"))
    return {"initial_stock": kv.get("initial_stock", 0), "stock": stock,
            "reserved": kv.get("reserved", 0)}


def main() -> None:
    pod = load_pod()
    skus = int(pod.settings.get("skus", 100))
    per_sku = int(pod.settings.get("initial_stock", 100000))
    if skus <= 0 or per_sku < 0:
        die("inventory: skus must be > 0 and initial_stock >= 0")
    store = Store(pod.data_dir / "inventory.db", str(pod.settings.get("synchronous", "NORMAL")))
    initial = {f"stock:sku-{i}": per_sku for i in range(skus)}
    initial.update({"initial_stock": skus * per_sku, "reserved": 0})
    store.init_kv(initial)
    run(pod, {"reserve": reserve, "release": release}, store, totals, "http")


if __name__ == "__main__":
    main()
