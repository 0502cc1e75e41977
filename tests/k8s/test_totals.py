"""Run-scoped totals: the counters a long-lived deployment kept from earlier runs are
subtracted, and conservation still balances exactly when this run conserved."""

from __future__ import annotations

from chaos.observers.reference import run_scoped


def test_without_a_snapshot_totals_are_the_deployments() -> None:
    now = {"initial_stock": 100, "stock": 90, "reserved": 10, "charged": 5}
    assert run_scoped(now, None) == now


def test_a_second_run_sees_only_its_own_changes() -> None:
    base = {"initial_stock": 1000, "stock": 990, "reserved": 10, "charged": 500,
            "refunded": 100, "points": 40}
    now = {"initial_stock": 1000, "stock": 985, "reserved": 13, "charged": 700,
           "refunded": 100, "points": 45}
    scoped = run_scoped(now, base)
    assert scoped == {"initial_stock": 990, "stock": 985, "reserved": 3, "charged": 200,
                      "refunded": 0, "points": 5}
    # 2 units went missing in this run (1000 -> 998 held in stock + reserved): caught
    assert scoped["stock"] + scoped["reserved"] != scoped["initial_stock"]


def test_a_conserving_run_balances() -> None:
    base = {"initial_stock": 1000, "stock": 990, "reserved": 10}
    now = {"initial_stock": 1000, "stock": 984, "reserved": 16}
    scoped = run_scoped(now, base)
    assert scoped["stock"] + scoped["reserved"] == scoped["initial_stock"]
