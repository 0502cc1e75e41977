"""dlq: poison, and only poison, dead-lettered once with reason and the configured attempts."""

from __future__ import annotations

from chaos.checks.dlq import CHECK
from tests.checks.builders import Scenario


def poisoned() -> Scenario:
    s = Scenario()
    s.many(range(1, 21))
    s.many(range(21, 24), poison=True, outcome="dead_lettered")
    return s


def test_each_poison_dead_lettered_passes() -> None:
    v = poisoned().run(CHECK)
    assert v.ok, v.summary
    assert v.metrics["dead_lettered"] == 3 and v.metrics["poison_ok"] == 3
    assert v.metrics["attempts_expected"] == 5
    assert "3 dead-lettered = 3 poison ok + 0 poison info" in v.summary


def test_poison_not_dead_lettered_fails() -> None:
    s = poisoned()
    s.add(30, poison=True, outcome="none", t=16.0)  # e.g. retried forever, or dropped
    v = s.run(CHECK)
    assert not v.ok and v.metrics["missing"] == 1
    assert [(o.id, o.fault) for o in v.offenders] == [(30, "f1.0")]


def test_wrong_attempts_and_missing_reason() -> None:
    s = poisoned()
    s.add(31, poison=True, outcome="dead_lettered", dead_letters=[(1, "bad json")])
    s.add(32, poison=True, outcome="dead_lettered", dead_letters=[(5, "  ")])
    v = s.run(CHECK)
    assert not v.ok and v.metrics["no_reason_or_wrong_attempts"] == 2
    assert v.metrics["attempts_seen"] == [1, 5]


def test_attempts_param_overrides_settings() -> None:
    s = poisoned()
    assert not s.run(CHECK, {"attempts": 3}).ok
    s.settings = {}
    v = s.run(CHECK)
    assert v.ok and v.metrics["attempts_expected"] is None
    assert "attempt count not configured" in v.summary
    s.settings = {"dlq_attempts": 5}
    assert s.run(CHECK).metrics["attempts_expected"] == 5


def test_duplicate_entry_and_entry_missing() -> None:
    s = poisoned()
    s.add(33, poison=True, outcome="dead_lettered", dead_letters=[(5, "x"), (5, "x")])
    s.add(34, poison=True, outcome="dead_lettered", dead_letters=[])
    v = s.run(CHECK)
    assert not v.ok
    assert v.metrics["duplicate"] == 1 and v.metrics["no_entry"] == 1


def test_non_poison_dead_lettered_unless_allowed() -> None:
    s = poisoned()
    s.add(35, outcome="dead_lettered", dead_letters=[(5, "payment kept failing")])
    v = s.run(CHECK)
    assert not v.ok and v.metrics["unexpected"] == 1
    assert s.run(CHECK, {"allow_non_poison": True}).ok


def test_dead_letter_for_unpublished_or_failed_publish() -> None:
    s = poisoned()
    s.add(36, publish="fail", poison=True, outcome="dead_lettered")
    s.add(37, publish=None, poison=True, outcome="dead_lettered")
    v = s.run(CHECK)
    assert not v.ok and v.metrics["unexpected"] == 2
    assert {o.id: o.phase for o in v.offenders}[37] == "unpublished"


def test_info_poison_consistent_either_way() -> None:
    s = poisoned()
    s.add(40, publish="info", poison=True, outcome="dead_lettered")
    s.add(41, publish="info", poison=True, outcome=None)
    v = s.run(CHECK)
    assert v.ok, v.summary
    assert v.metrics["poison_info"] == 2 and v.metrics["poison_info_dead_lettered"] == 1
    assert v.metrics["dead_lettered"] == v.metrics["poison_ok"] + 1


def test_poison_completed_fails() -> None:
    s = poisoned()
    s.add(42, poison=True, outcome="completed", qty=1)
    v = s.run(CHECK)
    assert not v.ok and v.metrics["poison_completed"] == 1 and v.metrics["missing"] == 1


def test_validate() -> None:
    assert CHECK.validate({"attempts": 5, "allow_non_poison": False}) == []
    assert CHECK.validate({"attempts": 0}) == ["attempts: must be an integer >= 1, got 0"]
    assert CHECK.validate({"allow_non_poison": "yes"}) == [
        "allow_non_poison: must be true or false, got \"yes\""
    ]
