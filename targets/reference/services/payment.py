"""Payment over HTTPS: charge / refund. Cards ending in `decline_suffix` are declined."""

from __future__ import annotations

from functools import partial
from typing import Any

from targets.reference.pod import load_pod
from targets.reference.services.app import run
from targets.reference.services.store import Response, Store, Tx

DECLINE_SUFFIX = "0002"  # like the well-known test card 4000 0000 0000 0002


def charge(tx: Tx, body: dict[str, Any], decline_suffix: str = DECLINE_SUFFIX) -> Response:
    amount, card = body.get("amount"), body.get("card")
    if not isinstance(amount, int) or amount < 0 or not isinstance(card, str):
        return 400, {"result": "error", "reason": "amount (>= 0) and card required"}
    if tx.cancelled(body["run_id"], body["order_id"], "payment.charge"):
        return 409, {"result": "rejected", "reason": "cancelled"}
    if card.endswith(decline_suffix):
        return 422, {"result": "rejected", "reason": "card_declined"}
    tx.add("charged", amount)
    tx.apply(body["run_id"], body["order_id"], "payment.charge", amount)
    return 200, {"result": "ok", "applied": True}


def refund(tx: Tx, body: dict[str, Any]) -> Response:
    amount = tx.undo_one(body["run_id"], body["order_id"], "payment.charge")
    if amount is None:
        return 200, {"result": "ok", "applied": False}
    tx.add("refunded", amount)
    tx.apply(body["run_id"], body["order_id"], "payment.refund", amount)
    return 200, {"result": "ok", "applied": True}


def totals(store: Store) -> dict[str, int]:
    kv = store.kv()
    return {"charged": kv.get("charged", 0), "refunded": kv.get("refunded", 0)}


def main() -> None:
    pod = load_pod()
    store = Store(pod.data_dir / "payment.db", str(pod.settings.get("synchronous", "NORMAL")))
    store.init_kv({"charged": 0, "refunded": 0})
    suffix = str(pod.settings.get("decline_suffix", DECLINE_SUFFIX))
    port = "https" if pod.tls_cert is not None else "http"
    run(pod, {"charge": partial(charge, decline_suffix=suffix), "refund": refund},
        store, totals, port)


if __name__ == "__main__":
    main()
