"""The vectorised checks agree with a naive per-order reading of the definitions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.checks import delivery, dlq, effects
from tests.checks.builders import Scenario

PUBLISH = st.sampled_from(["ok", "fail", "info", None])
OUTCOME = st.sampled_from(["completed", "compensated", "dead_lettered", "none", None])
ORDER = st.tuples(PUBLISH, OUTCOME, st.booleans(), st.integers(0, 2), st.floats(0, 39))


def build(rows: list[tuple[str | None, str | None, bool, int, float]]) -> Scenario:
    s = Scenario()
    for i, (publish, outcome, poison, charges, t) in enumerate(rows):
        if publish is None and outcome is None:
            continue
        o = s.add(i * 3 + 1, publish=publish, outcome=outcome, poison=poison, t=t)
        if outcome == "completed":
            o.effects = {"payment.charge": charges or 1}
    return s


@settings(max_examples=60, deadline=None)
@given(st.lists(ORDER, max_size=60))
def test_delivery_matches_definition(rows: list[tuple[str | None, str | None, bool, int, float]]
                                     ) -> None:
    s = build(rows)
    terminal = {"completed", "compensated", "dead_lettered"}
    lost = {o.id for o in s.orders if o.publish == "ok" and o.outcome not in terminal}
    phantom = {o.id for o in s.orders
               if o.outcome in terminal and o.publish in (None, "fail")}
    recovered = {o.id for o in s.orders if o.publish == "info" and o.outcome in terminal}
    wrongly_dead = {o.id for o in s.orders if o.outcome == "dead_lettered"
                    and o.publish in ("ok", "info") and not o.poison}
    v = s.run(delivery.CHECK)
    assert v.metrics["lost"] == len(lost) and v.metrics["phantom"] == len(phantom)
    assert v.metrics["recovered"] == len(recovered)
    assert v.metrics["dead_lettered_valid"] == len(wrongly_dead)
    assert v.ok == (not lost and not phantom and not wrongly_dead)
    assert v.offenders_total == len(lost) + len(phantom) + len(wrongly_dead)
    assert {o.id for o in v.offenders} <= lost | phantom | wrongly_dead
    assert len(v.offenders) == min(20, len(lost | phantom | wrongly_dead))
    allowed = s.run(delivery.CHECK, {"allow_dead_lettered": True})
    assert allowed.ok == (not lost and not phantom)


@settings(max_examples=40, deadline=None)
@given(st.lists(ORDER, max_size=60))
def test_effects_matches_definition(rows: list[tuple[str | None, str | None, bool, int, float]]
                                    ) -> None:
    s = build(rows)
    twice = {o.id for o in s.orders if o.applied()["payment.charge"] > 1}
    v = s.run(effects.CHECK)
    assert v.offenders_total == len(twice) and v.ok == (not twice)


@settings(max_examples=60, deadline=None)
@given(st.lists(ORDER, max_size=60))
def test_dlq_matches_definition(rows: list[tuple[str | None, str | None, bool, int, float]]
                                ) -> None:
    s = build(rows)
    dead = {o.id for o in s.orders if o.outcome == "dead_lettered"}
    missing = {o.id for o in s.orders if o.poison and o.publish == "ok" and o.id not in dead}
    unexpected = {o.id for o in s.orders if o.id in dead and (
        o.publish in (None, "fail") or not o.poison)}
    done = {o.id for o in s.orders if o.poison and o.publish is not None
            and o.outcome in ("completed", "compensated")}
    v = s.run(dlq.CHECK)
    assert v.metrics["missing"] == len(missing)
    assert v.metrics["unexpected"] == len(unexpected)
    assert v.metrics["poison_completed"] == len(done)
    assert v.ok == (not missing and not unexpected and not done)
