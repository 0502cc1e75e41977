"""Fencing on real parts: a service refuses a stale token (SQLite store), and a consumer
that lost its entry to a reclaim records nothing and ACKs nothing (real redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aredis

from chaos.observers.handlers import fencing, handled_by
from targets.reference.fencing import Fencing, fenced_key, handlers_key, token
from targets.reference.retry import Backoff
from targets.reference.saga import failure
from targets.reference.services import fence, inventory
from targets.reference.services.store import Store
from targets.reference.streams import StreamNames
from tests.pipeline.harness import Deployment


def test_service_refuses_a_stale_token(tmp_path: Path) -> None:
    store = Store(tmp_path / "inventory.db")
    store.init_kv({"stock:sku-1": 100, "reserved": 0, "initial_stock": 100})
    order = {"run_id": "r", "order_id": 7, "sku": "sku-1", "qty": 2}
    zombie, owner = fence.parse(token("1-0", 1)), fence.parse(token("1-0", 2))
    assert store.handle("r:7:inventory.reserve", order, inventory.reserve, zombie)[0] == 200
    # reclaimed: the new owner's replayed reserve raises the fence to 2
    assert store.handle("r:7:inventory.reserve", order, inventory.reserve, owner)[0] == 200
    status, body = store.handle("r:7:inventory.release", order, inventory.release, zombie)
    assert (status, body["result"]) == (409, "fenced") and "1 < 2" in body["reason"]
    assert inventory.totals(store)["reserved"] == 2  # nothing released
    assert store.kv()[fence.REFUSED] == 1
    # the refusal stored no response: the owner may still release under the same key
    assert store.handle("r:7:inventory.release", order, inventory.release, owner)[0] == 200
    assert inventory.totals(store)["reserved"] == 0
    # no token (bug no-fencing, older clients): not fenced; another entry: its own fence
    other = {**order, "order_id": 8}
    assert store.handle("r:8:inventory.reserve", other, inventory.reserve, None)[0] == 200
    assert store.handle("r:8:inventory.release", other, inventory.release,
                        fence.parse(token("2-0", 1)))[0] == 200
    assert fence.parse("garbage") is None and fence.parse(None) is None


def test_a_zombie_undo_that_won_the_race_makes_the_owner_compensate(tmp_path: Path) -> None:
    """The zombie's release reached the service before the new owner's first call (its
    token was still the highest): the owner's replayed reserve must not answer ok."""
    store = Store(tmp_path / "inventory.db")
    store.init_kv({"stock:sku-1": 100, "reserved": 0, "initial_stock": 100})
    order = {"run_id": "r", "order_id": 7, "sku": "sku-1", "qty": 2}
    zombie, owner = fence.parse(token("1-0", 1)), fence.parse(token("1-0", 2))
    assert store.handle("r:7:inventory.reserve", order, inventory.reserve, zombie)[0] == 200
    assert store.handle("r:7:inventory.release", order, inventory.release, zombie)[0] == 200
    status, body = store.handle("r:7:inventory.reserve", order, inventory.reserve, owner)
    assert (status, body["reason"], body["replayed"]) == (409, "cancelled", True)
    release = store.handle("r:7:inventory.release", order, inventory.release, owner)
    assert release[0] == 200 and release[1]["replayed"]  # nothing released twice
    assert inventory.totals(store)["reserved"] == 0
    assert store.effects("r") == {"inventory.release": {"order_id": [7], "count": [1]},
                                  "inventory.reserve": {"order_id": [7], "count": [1]}}


def test_a_bare_timeout_says_what_and_how_long() -> None:
    assert failure(TimeoutError(), 6.24, 2.0) == \
        "TimeoutError: no answer after 6.2s (call_timeout 2s)"
    assert failure(ConnectionResetError("reset by peer"), 0.1, 2.0) == \
        "ConnectionResetError: reset by peer"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Deployment]:
    dep = Deployment(tmp_path)
    try:
        dep.start_broker()
        yield dep
    finally:
        dep.stop_all()


def test_a_reclaimed_entry_is_fenced_in_redis(broker: Deployment) -> None:
    names = StreamNames()

    async def scenario() -> None:
        r = aredis.Redis(port=broker.slot_ports["redis-0"]["redis"], decode_responses=True)
        try:
            await r.xgroup_create("orders", "workers", id="0", mkstream=True)
            entry = await r.xadd("orders", {"order_id": "7", "run_id": "r"})
            await r.xreadgroup("workers", "zombie", {"orders": ">"}, count=1)
            zombie = Fencing(r, names, "zombie", True, Backoff())
            owner = Fencing(r, names, "owner", True, Backoff())
            assert await zombie.owns(entry, 1)
            await r.xautoclaim("orders", "workers", "owner", 0, start_id="0-0")  # count 2
            assert not await zombie.owns(entry, 1) and await owner.owns(entry, 2)
            held = zombie.fence(entry, 1)
            assert held is not None and held.token == f"{entry}:1" and not await held.held()

            late = zombie.record("compensated", 1)
            assert await zombie.finish("r", "7", entry, late, 1) == -1
            assert await r.hget(names.outcome("r"), "7") is None  # nothing recorded
            assert len(await r.xpending_range("orders", "workers", "-", "+", 10)) == 1
            assert zombie.fenced == 1 and zombie.by_stage == {"outcome": 1}
            assert await r.hget(fenced_key(names, "r"), "7") == "zombie|outcome"

            done = owner.record("completed", 2)
            assert await owner.finish("r", "7", entry, done, 2) == 1
            assert await owner.finish("r", "7", entry, done, 2) == 0  # retry: still fine
            assert owner.fenced == 0
            assert await r.hget(names.outcome("r"), "7") == done and done.endswith("|2|owner")
            assert await r.xpending_range("orders", "workers", "-", "+", 10) == []
            assert await r.hget(handlers_key(names, "r"), "7") == "zombie,owner"

            # bug no-fencing: the zombie's late finish ACKs (the outcome stays the first)
            unfenced = Fencing(r, names, "zombie", False, Backoff())
            assert unfenced.fence(entry, 1) is None
            assert await unfenced.finish("r", "7", entry, late, 1) == 0
            await zombie.abandoned("r", "8", "compensation")
            assert await r.hget(fenced_key(names, "r"), "8") == "zombie|compensation"
        finally:
            await r.aclose()

    asyncio.run(scenario())
    # what the observer makes of it (observations `handled_by` and `fencing`)
    r = broker.redis()
    assert handled_by(r, "orders", "r") == {"pods": ["zombie", "owner"], "order_id": [7, 7],
                                            "pod": [0, 1]}
    assert fencing(r, "orders", "r", {"inventory": 1}) == {
        "fenced": 2, "by_stage": {"outcome": 1, "compensation": 1}, "by_pod": {"zombie": 2},
        "refused": {"inventory": 1}}
