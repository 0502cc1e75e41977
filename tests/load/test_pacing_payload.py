"""The open-loop schedule and the seeded payloads (pure functions)."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.load.pacing import Schedule
from chaos.load.payload import (
    DECLINED_CARD,
    POISON,
    PayloadMaker,
    poison_mask,
    uniform,
    uniforms,
)


def test_steady_schedule_counts() -> None:
    s = Schedule(rate=200, duration=20)
    assert s.total == 4000
    assert s.offset(0) == 0.0
    assert s.offset(200) == pytest.approx(1.0)
    assert s.count_before(1.0) == 200


def test_ramp_is_linear_from_zero() -> None:
    s = Schedule(rate=100, duration=10, ramp=2)
    assert s.total == 100 + 800  # half the rate on average during the ramp
    assert s.count_before(1.0) == 25  # rate * t^2 / (2 * ramp)
    gaps = np.diff(s.offsets(np.arange(0, 900, dtype=np.int64)))
    assert gaps[10] > gaps[80] > 0  # slots get closer while ramping up
    assert gaps[-1] == pytest.approx(0.01)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(0.5, 5000),
    duration=st.floats(0, 100),
    ramp_frac=st.floats(0, 1),
    t=st.floats(0, 100),
)
def test_offsets_and_counts_agree(rate: float, duration: float, ramp_frac: float, t: float) -> None:
    s = Schedule(rate=rate, duration=duration, ramp=duration * ramp_frac)
    n = s.count_before(t)
    if n:
        assert s.offset(n - 1) < t + 1e-6  # the last slot counted is due before t
    if n < s.total:
        assert s.offset(n) >= min(t, duration) - 1e-6


def test_bad_schedule() -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        Schedule(rate=0, duration=1)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(-(2**63), 2**63 - 1), ids=st.lists(st.integers(0, 2**62), max_size=50))
def test_vectorised_draws_match_scalar(seed: int, ids: list[int]) -> None:
    arr = np.asarray(ids, dtype=np.int64)
    assert list(uniforms(seed, arr, POISON)) == [uniform(seed, i, POISON) for i in ids]


def test_poison_fraction_and_marking() -> None:
    maker = PayloadMaker(seed=5, poison=0.1)
    made = [maker.make(i) for i in range(5000)]
    poison = np.asarray([p for _, p in made])
    assert 0.08 < poison.mean() < 0.12
    assert (poison == poison_mask(5, 0.1, np.arange(5000, dtype=np.int64))).all()
    for body, is_poison in made[:500]:
        if is_poison:
            with pytest.raises(orjson.JSONDecodeError):
                orjson.loads(body)
        else:
            order = orjson.loads(body)
            assert set(order) == {"sku", "qty", "amount", "customer", "card"}
            assert 1 <= order["qty"] <= 3 and order["amount"] >= 100


def test_payloads_are_reproducible_and_seed_dependent() -> None:
    assert PayloadMaker(1).make(9) == PayloadMaker(1).make(9)
    one, two = PayloadMaker(1), PayloadMaker(2)
    assert [one.make(i) for i in range(20)] != [two.make(i) for i in range(20)]


def test_declined_cards_are_optional() -> None:
    plain = PayloadMaker.from_options(3, 0.0, {})
    assert all(orjson.loads(plain.make(i)[0])["card"] != DECLINED_CARD for i in range(1000))
    some = PayloadMaker.from_options(3, 0.0, {"declined": 0.05})
    declined = sum(orjson.loads(some.make(i)[0])["card"] == DECLINED_CARD for i in range(4000))
    assert 120 < declined < 280


@pytest.mark.parametrize(
    ("options", "message"),
    [({"colour": 1}, "unknown load.payload option"), ({"declined": 2}, "declined must be")],
)
def test_bad_payload_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PayloadMaker.from_options(1, 0.0, options)
