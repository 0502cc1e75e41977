"""Parse a stream entry into an order, or say why it is poison (never processable)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

REQUIRED = {"sku": str, "qty": int, "amount": int, "customer": str, "card": str}


@dataclass(frozen=True)
class Order:
    run_id: str
    order_id: int
    sku: str
    qty: int
    amount: int
    customer: str
    card: str

    def body(self) -> dict[str, Any]:
        """What every service receives (the service applies what it needs)."""
        return {"run_id": self.run_id, "order_id": self.order_id, "sku": self.sku,
                "qty": self.qty, "amount": self.amount, "customer": self.customer,
                "card": self.card}


@dataclass(frozen=True)
class Poison:
    run_id: str
    order_id: str  # kept as text: it may itself be malformed
    reason: str


def parse_entry(fields: dict[str, str]) -> Order | Poison:
    run_id = fields.get("run_id", "")
    raw_id = fields.get("order_id", "")
    try:
        order_id = int(raw_id)
    except ValueError:
        return Poison(run_id, raw_id, "order_id is not an integer")
    try:
        payload = orjson.loads(fields.get("payload", ""))
    except orjson.JSONDecodeError:
        return Poison(run_id, raw_id, "payload is not valid JSON")
    if not isinstance(payload, dict):
        return Poison(run_id, raw_id, "payload is not a JSON object")
    for name, kind in REQUIRED.items():
        value = payload.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return Poison(run_id, raw_id, f"payload field {name} missing or not {kind.__name__}")
    if payload["qty"] <= 0 or payload["amount"] < 0:
        return Poison(run_id, raw_id, "payload qty must be > 0 and amount >= 0")
    return Order(run_id, order_id, payload["sku"], payload["qty"], payload["amount"],
                 payload["customer"], payload["card"])
