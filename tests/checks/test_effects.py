"""effects: a side effect applied twice for one order fails; redeliveries alone do not."""

from __future__ import annotations

from chaos.checks.effects import CHECK
from tests.checks.builders import Scenario


def test_redelivered_but_idempotent_passes() -> None:
    s = Scenario()
    s.many(range(1, 6), redeliveries=2)
    s.add(6, outcome="compensated", steps_applied=3, redeliveries=1)
    v = s.run(CHECK)
    assert v.ok, v.summary
    assert v.metrics["effects"]["payment.charge"] == {
        "orders": 6, "applied": 6, "duplicated": 0, "extra": 0,
    }
    assert v.metrics["effects"]["payment.refund"]["applied"] == 1


def test_double_charge_fails_with_offender_located() -> None:
    s = Scenario()
    s.many(range(1, 6))
    s.add(6, t=16.0, effects={"payment.charge": 2}, redeliveries=1)
    s.add(7, t=3.0, effects={"points.award": 3, "payment.charge": 2})
    v = s.run(CHECK)
    assert not v.ok
    assert v.offenders_total == 2
    assert {(o.id, o.phase, o.fault) for o in v.offenders} == {
        (6, "fault", "f1.0"), (7, "baseline", "f0.0"),
    }
    assert v.metrics["effects"]["payment.charge"]["duplicated"] == 2
    assert v.metrics["effects"]["points.award"]["extra"] == 2
    assert v.metrics["duplicated_by_fault"] == {"f0.0": 1, "f1.0": 1}
    assert "payment.charge x2" in v.summary


def test_named_effect_missing_from_observations_fails() -> None:
    s = Scenario()
    s.add(1)
    v = s.run(CHECK, {"effects": ["payment.charge", "email.send"]})
    assert not v.ok and "email.send" in v.summary
    assert s.run(CHECK, {"effects": "payment.charge"}).ok


def test_validate() -> None:
    assert CHECK.validate({"effects": ["a", "b"]}) == []
    assert CHECK.validate({"effects": 3}) == [
        "effects: must be a name or a non-empty list of names, got 3"
    ]
    assert CHECK.validate({"max": 2})[0].startswith("max: unknown parameter")
