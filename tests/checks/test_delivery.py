"""delivery: lost and phantom fail the verdict; recovered and redelivered are only reported."""

from __future__ import annotations

from chaos.checks.delivery import CHECK
from chaos.checks.model import Phases
from tests.checks.builders import Scenario, at


def test_clean_run_passes_with_counts() -> None:
    s = Scenario()
    s.many(range(1, 11))
    s.add(11, publish="fail", outcome=None)
    v = s.run(CHECK)
    assert v.ok, v.summary
    assert v.metrics["ok"] == 10 and v.metrics["fail"] == 1 and v.metrics["info"] == 0
    assert v.metrics["lost"] == 0 and v.metrics["phantom"] == 0
    assert v.offenders_total == 0 and v.offenders == ()


def test_lost_ok_publish_fails_and_names_phase_and_fault() -> None:
    s = Scenario()
    s.many(range(1, 6))
    s.add(6, t=13.0, outcome="none")  # after the kill window f0.0 ended, before f1.0
    s.add(7, t=16.0, outcome=None)  # inside the partition f1.0, never seen
    s.add(8, t=2.0, outcome="none")  # baseline: blamed on the first fault after it
    v = s.run(CHECK)
    assert not v.ok
    assert v.metrics["lost"] == 3 and v.offenders_total == 3
    got = {o.id: (o.phase, o.fault) for o in v.offenders}
    assert got == {6: ("fault", "f0.0"), 7: ("fault", "f1.0"), 8: ("baseline", "f0.0")}
    assert v.metrics["lost_by_fault"] == {"f0.0": 2, "f1.0": 1}
    assert v.metrics["lost_by_phase"] == {"baseline": 1, "fault": 2}
    assert "lost 3 of 8" in v.summary


def test_no_faults_no_blame() -> None:
    s = Scenario(phases=Phases(bounds={"baseline": (at(0), at(40))}, faults=[]))
    s.add(1, outcome="none")
    v = s.run(CHECK)
    assert [(o.phase, o.fault) for o in v.offenders] == [("baseline", None)]
    assert v.metrics["lost_by_fault"] == {"none": 1}


def test_phantom_never_published_and_published_with_fail() -> None:
    s = Scenario()
    s.many(range(1, 4))
    s.add(50, publish=None, outcome="completed", t=5.0)  # never published
    s.add(51, publish="fail", outcome="compensated", t=6.0)  # broker said no, yet processed
    s.add(52, publish="fail", outcome=None)  # correctly absent
    v = s.run(CHECK)
    assert not v.ok
    assert v.metrics["phantom"] == 2 and v.metrics["lost"] == 0
    got = {o.id: o.phase for o in v.offenders}
    assert got == {50: "unpublished", 51: "baseline"}


def test_phantom_non_terminal_is_not_counted() -> None:
    s = Scenario()
    s.add(1)
    s.add(99, publish=None, outcome="none")  # seen in the stream but never terminal
    assert s.run(CHECK).ok


def test_only_info_publishes_never_fail() -> None:
    s = Scenario()
    s.many(range(1, 5), publish="info")  # these reached the pipeline
    s.many(range(5, 9), publish="info", outcome=None)  # these did not
    v = s.run(CHECK)
    assert v.ok, v.summary
    assert v.metrics["info"] == 8 and v.metrics["ok"] == 0
    assert v.metrics["recovered"] == 4 and v.metrics["info_unresolved"] == 4


def test_empty_history_and_observations_pass() -> None:
    v = Scenario().run(CHECK)
    assert v.ok and v.metrics["published"] == 0 and v.offenders_total == 0


def test_publishes_during_drain_must_still_arrive() -> None:
    s = Scenario()
    s.add(1, t=31.0)  # published in drain, completed: fine
    s.add(2, t=32.0, outcome="none")  # published in drain, never finished: lost
    v = s.run(CHECK)
    assert not v.ok
    assert [(o.id, o.phase, o.fault) for o in v.offenders] == [(2, "drain", "f1.0")]


def test_redelivered_and_compensated_is_reported_not_failed() -> None:
    s = Scenario()
    s.add(1, outcome="compensated", redeliveries=3, steps_applied=2)
    s.add(2, redeliveries=1)
    s.add(3)
    v = s.run(CHECK)
    assert v.ok
    assert v.metrics["redelivered"] == 2 and v.metrics["redeliveries"] == 4


def test_sample_is_capped_deterministic_and_shows_every_kind() -> None:
    s = Scenario()
    s.many(range(100, 160), outcome="none")  # 60 lost
    s.many(range(1, 6), publish=None)  # 5 phantoms
    v1, v2 = s.run(CHECK), s.run(CHECK)
    assert v1.offenders_total == 65
    assert len(v1.offenders) == 20 and v1.offenders == v2.offenders
    ids = [o.id for o in v1.offenders]
    assert set(range(1, 6)) <= set(ids) and 100 in ids
    assert v1.to_json()["offenders"]["total"] == 65


def test_unknown_parameter_is_an_error() -> None:
    assert CHECK.validate({}) == []
    errors = CHECK.validate({"tolerance": 3})
    assert len(errors) == 1 and errors[0].startswith("tolerance: unknown parameter")


def test_valid_order_dead_lettered_is_its_own_failure() -> None:
    """The dlq blind spot: dead-lettered is terminal, so without this a consumer that gives
    up on good orders passed every experiment that does not carry `dlq`."""
    s = Scenario()
    s.many(range(1, 6))
    s.add(7, outcome="dead_lettered", dead_letters=[(1, "gave up")], t=14.0)  # valid: wrong
    s.add(8, poison=True, outcome="dead_lettered")  # poison: dead-lettering is right
    s.add(9, publish="info", outcome="dead_lettered")  # reached the pipeline, valid: wrong
    s.add(10, publish="fail", outcome="dead_lettered")  # a phantom, not counted twice
    v = s.run(CHECK)
    assert not v.ok
    assert v.metrics["dead_lettered_valid"] == 2 and v.metrics["phantom"] == 1
    assert v.metrics["lost"] == 0 and v.offenders_total == 3
    assert {o.id for o in v.offenders} == {7, 9, 10}
    assert "2 valid orders dead-lettered" in v.summary
    allowed = s.run(CHECK, {"allow_dead_lettered": True})
    assert allowed.metrics["dead_lettered_valid"] == 0 and allowed.offenders_total == 1


def test_dead_letter_entry_without_outcome_counts_too() -> None:
    s = Scenario()
    s.add(1, outcome="completed", dead_letters=[(5, "late entry")])
    v = s.run(CHECK)
    assert not v.ok and v.metrics["dead_lettered_valid"] == 1


def test_allow_dead_lettered_is_validated() -> None:
    assert CHECK.validate({"allow_dead_lettered": True}) == []
    assert CHECK.validate({"allow_dead_lettered": "yes"})
    assert CHECK.validate({"allow_dead": True})
