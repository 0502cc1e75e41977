"""Order payloads as a pure function of (seed, order id).

Deriving every draw from a hash of the seed and the order id (splitmix64) instead of one
sequential rng makes payloads independent of which process sends which order, reproducible
from the plan's seed, and lets the history reader recompute `poison` for orders whose
completion was never written (a load process that died), in bulk with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_UNIT = 1.0 / (1 << 53)

# Independent draws per order: which field a hash feeds.
POISON, DECLINED, SKU, QTY, AMOUNT, CUSTOMER, SHAPE = range(7)
SKUS = 50
CUSTOMERS = 1000
OK_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"  # ends in 0002: the payment service declines it
POISON_SHAPES = ("{not json", "\x00\x01garbage", '{"sku": "sku-1", "qty": ', "<order/>")


def _mix(z: int) -> int:
    z = (z ^ (z >> 30)) * _M1 & _MASK
    z = (z ^ (z >> 27)) * _M2 & _MASK
    return z ^ (z >> 31)


def draw(seed: int, order_id: int, field: int) -> int:
    """A 64-bit hash of (seed, order id, field): the order's private random stream."""
    z = (seed * _GOLDEN + order_id * 0xD1B54A32D192ED03 + field * 0x8CB92BA72F3D8DD7) & _MASK
    return _mix((z + _GOLDEN) & _MASK)


def uniform(seed: int, order_id: int, field: int) -> float:
    return (draw(seed, order_id, field) >> 11) * _UNIT


def uniforms(seed: int, order_ids: npt.NDArray[np.int64], field: int) -> npt.NDArray[np.float64]:
    """Vectorised `uniform` (bit-identical)."""
    with np.errstate(over="ignore"):
        ids = order_ids.astype(np.uint64)
        base = np.uint64(
            (seed * _GOLDEN + field * 0x8CB92BA72F3D8DD7 + _GOLDEN) & _MASK
        )
        z = ids * np.uint64(0xD1B54A32D192ED03) + base
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
        z = z ^ (z >> np.uint64(31))
    out: npt.NDArray[np.float64] = (z >> np.uint64(11)).astype(np.float64) * _UNIT
    return out


def poison_mask(
    seed: int, fraction: float, order_ids: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which of these orders carry a poison payload (same rule as `PayloadMaker`)."""
    if fraction <= 0:
        return np.zeros(order_ids.shape, dtype=np.bool_)
    mask: npt.NDArray[np.bool_] = uniforms(seed, order_ids, POISON) < fraction
    return mask


@dataclass(frozen=True)
class PayloadMaker:
    """Builds the reference payload JSON for an order; `poison` and `declined` are fractions."""

    seed: int
    poison: float = 0.0
    declined: float = 0.0

    @classmethod
    def from_options(cls, seed: int, poison: float, options: dict[str, Any]) -> PayloadMaker:
        unknown = set(options) - {"declined"}
        if unknown:
            raise ValueError(f"unknown load.payload option(s): {', '.join(sorted(unknown))}")
        declined = options.get("declined", 0.0)
        if not isinstance(declined, int | float) or not 0 <= declined <= 1:
            raise ValueError(f"load.payload.declined must be a fraction in [0, 1], got {declined}")
        return cls(seed, poison, float(declined))

    def is_poison(self, order_id: int) -> bool:
        return self.poison > 0 and uniform(self.seed, order_id, POISON) < self.poison

    def make(self, order_id: int) -> tuple[bytes, bool]:
        """(payload bytes, poison?) for this order."""
        s = self.seed
        if self.is_poison(order_id):
            shape = POISON_SHAPES[draw(s, order_id, SHAPE) % len(POISON_SHAPES)]
            return f"{shape} #{order_id}".encode(), True
        declined = self.declined > 0 and uniform(s, order_id, DECLINED) < self.declined
        body = {
            "sku": f"sku-{draw(s, order_id, SKU) % SKUS}",
            "qty": 1 + draw(s, order_id, QTY) % 3,
            "amount": 100 + draw(s, order_id, AMOUNT) % 9900,
            "customer": f"c-{draw(s, order_id, CUSTOMER) % CUSTOMERS}",
            "card": DECLINED_CARD if declined else OK_CARD,
        }
        return orjson.dumps(body), False
