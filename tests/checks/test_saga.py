"""saga: terminal in time, exact steps, full compensation, conservation sums."""

from __future__ import annotations

from chaos.checks.saga import CHECK
from tests.checks.builders import Scenario


def healthy() -> Scenario:
    s = Scenario()
    s.many(range(1, 21))
    s.add(21, outcome="compensated", steps_applied=1)
    s.add(22, outcome="compensated", steps_applied=2, redeliveries=2)
    s.add(23, poison=True, outcome="dead_lettered")
    return s


def test_healthy_run_balances() -> None:
    v = healthy().run(CHECK)
    assert v.ok, v.summary
    assert v.metrics["completed"] == 20 and v.metrics["compensated"] == 2
    assert all(x["ok"] for x in v.metrics["sums"].values())
    assert set(v.metrics["sums"]) == {"stock", "reserved", "charged", "points"}
    assert v.metrics["sums"]["charged"]["expected"] == 20 * 1000


def test_compensation_missing_fails_and_breaks_the_books() -> None:
    s = healthy()
    s.add(30, outcome="compensated", steps_applied=2, effects={"payment.refund": 0})
    v = s.run(CHECK)
    assert not v.ok
    assert v.metrics["not_compensated"] == 1 and [o.id for o in v.offenders] == [30]
    assert not v.metrics["sums"]["charged"]["ok"]
    assert "sum charged off by 1000" in v.summary


def test_completed_with_a_step_missing_or_twice() -> None:
    s = healthy()
    s.add(31, effects={"points.award": 0})
    s.add(32, effects={"payment.charge": 2})
    s.add(33, effects={"inventory.release": 1})
    v = s.run(CHECK)
    assert not v.ok and v.metrics["completed_not_exact"] == 3
    assert sorted(o.id for o in v.offenders) == [31, 32, 33]


def test_late_and_unfinished_sagas() -> None:
    s = healthy()
    s.add(40, took=45.0)  # terminal, but 45 s after publish
    s.add(41, outcome="none")  # never terminal
    v = s.run(CHECK)
    assert not v.ok
    assert v.metrics["late"] == 1 and v.metrics["unfinished"] == 1
    assert v.metrics["max_duration_s"] >= 45.0
    assert s.run(CHECK, {"within": "1m"}).metrics["late"] == 0


def test_dead_lettered_and_completed() -> None:
    s = healthy()
    s.add(50, dead_letters=[(5, "timeout")])  # completed, yet also in the DLQ
    v = s.run(CHECK)
    assert not v.ok and v.metrics["dead_lettered_and_completed"] == 1
    assert [o.id for o in v.offenders] == [50]


def test_dead_lettered_with_effects_left_over() -> None:
    s = healthy()
    s.add(51, outcome="dead_lettered", effects={"inventory.reserve": 1})
    v = s.run(CHECK)
    assert not v.ok and v.metrics["not_compensated"] == 1


def test_stock_sum_broken_by_the_service() -> None:
    s = healthy()
    s.totals_override = {"stock": 100_000 - 40 - 7}  # 7 units vanished
    v = s.run(CHECK)
    assert not v.ok and not v.metrics["sums"]["stock"]["ok"]
    assert v.offenders_total == 0  # a sum names no single order


def test_pipeline_without_points_or_money_is_judged_on_its_own_sums() -> None:
    """Another pipeline's observer reports only stock totals: no failure for the rest."""
    s = healthy()
    s.drop_totals = ["points", "charged", "refunded"]
    v = s.run(CHECK)
    assert v.ok, v.summary
    assert set(v.metrics["sums"]) == {"stock", "reserved"}
    assert v.metrics["sums_unavailable"] == ["charged", "points"]
    assert "no totals for charged, points" in v.summary
    s.totals_override = {"stock": 1}  # the sums it has still bite
    assert not s.run(CHECK).ok


def test_missing_totals_skipped_unless_required() -> None:
    s = healthy()
    s.drop_totals = ["points"]
    v = s.run(CHECK)
    assert v.ok and v.metrics["sums_unavailable"] == ["points"]
    v = s.run(CHECK, {"sums": ["charged", "points"]})
    assert not v.ok and "points" in v.summary


def test_validate() -> None:
    assert CHECK.validate({"within": "30s", "sums": ["stock"]}) == []
    assert CHECK.validate({"within": "soon"}) == [
        'within: must be a duration like 30s, got "soon"'
    ]
    assert CHECK.validate({"sums": ["money"]})[0].startswith("sums: unknown sum 'money'")
