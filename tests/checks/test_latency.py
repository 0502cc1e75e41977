"""latency: HDR percentiles per phase, absolute and baseline-relative bounds."""

from __future__ import annotations

import numpy as np
from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.checks.hdr import HIGHEST, counts_index, histogram
from chaos.checks.latency import CHECK
from tests.checks.builders import Scenario


def slow_fault() -> Scenario:
    s = Scenario()
    for i in range(100):
        s.add(i + 1, t=0.05 * i, took=0.010 + 0.0001 * i)  # baseline: 10..20 ms
        s.add(i + 1001, t=10 + 0.05 * i, took=0.200 + 0.001 * i)  # fault: 200..300 ms
        s.add(i + 2001, t=20 + 0.05 * i, took=0.012)  # recovery: 12 ms
    return s


def test_stats_per_phase_from_hdr() -> None:
    v = slow_fault().run(CHECK)
    assert v.ok  # no bounds given: report only
    phases = v.metrics["phases"]
    assert set(phases) == {"baseline", "fault", "recovery"}
    assert phases["fault"]["count"] == 100
    assert 295 <= phases["fault"]["p99_ms"] <= 300.5
    assert 299 <= phases["fault"]["max_ms"] <= 300.5
    assert 14.5 <= phases["baseline"]["p50_ms"] <= 15.1
    assert abs(phases["recovery"]["p99_ms"] - 12.0) < 0.02


def test_absolute_bound_fails_in_the_fault_phase_only() -> None:
    v = slow_fault().run(CHECK, {"p99": "200ms"})
    assert not v.ok
    failed = [b for b in v.metrics["bounds"] if not b["ok"]]
    assert [b["phase"] for b in failed] == ["fault"]
    assert "fault p99" in v.summary and "> 200.0ms" in v.summary
    assert v.offenders_total == 99  # the fault orders slower than 200 ms
    assert all(o.phase == "fault" for o in v.offenders)
    assert slow_fault().run(CHECK, {"p99": "400ms", "max": "1s"}).ok


def test_relative_bound_against_baseline() -> None:
    s = slow_fault()
    v = s.run(CHECK, {"p99": "3x baseline", "phase": "fault"})
    assert not v.ok and v.metrics["bounds"][0]["limit_ms"] < 70
    assert s.run(CHECK, {"p99": "3x baseline", "phase": "recovery"}).ok
    assert s.run(CHECK, {"p99": "3x baseline + 300ms", "phase": ["fault", "recovery"]}).ok


def test_relative_bound_without_baseline_data_fails() -> None:
    s = Scenario()
    s.many(range(1, 5), t=12.0)
    v = s.run(CHECK, {"p99": "2x baseline"})
    assert not v.ok and "needs baseline data" in v.summary


def test_requested_phase_without_data_fails() -> None:
    s = slow_fault()
    v = s.run(CHECK, {"p99": "1s", "phase": "drain"})
    assert not v.ok and "phase drain" in v.summary


def test_excludes_poison_unfinished_and_non_ok() -> None:
    s = Scenario()
    s.add(1, took=0.01)
    s.add(2, took=9.0, poison=True, outcome="dead_lettered")
    s.add(3, took=9.0, publish="info")
    s.add(4, outcome="none")
    v = s.run(CHECK, {"max": "100ms"})
    assert v.ok, v.summary
    assert v.metrics["measured"] == 1 and v.metrics["not_terminal"] == 1


def test_from_ok_measures_after_the_broker_ack() -> None:
    s = Scenario()
    s.add(1, took=0.0105)  # the builder's ack comes 1 ms after invoke
    invoke = s.run(CHECK)
    ok = s.run(CHECK, {"from": "ok"})
    assert invoke.metrics["phases"]["baseline"]["max_ms"] > ok.metrics["phases"]["baseline"][
        "max_ms"
    ] + 0.9


def test_empty_history_passes_with_no_data() -> None:
    v = Scenario().run(CHECK, {"p99": "1s"})
    assert v.ok and v.summary == "no latency data"


def test_validate_messages() -> None:
    assert CHECK.validate({"p99": "200ms", "p99.9": "1s", "max": "2s", "p50": "3x baseline"}) == []
    assert CHECK.validate({"p99": "fast"}) == [
        'p99: must be a duration like 200ms or a ratio like "3x baseline", got "fast"'
    ]
    assert CHECK.validate({"p101": "1s"}) == [
        "p101: percentile must be within (0, 100], e.g. p99 or p99.9"
    ]
    assert CHECK.validate({"p99": 200})[0].startswith("p99: must be a duration")
    assert CHECK.validate({"median": "1s"})[0].startswith("median: unknown parameter")
    assert CHECK.validate({"from": "ack"}) == ['from: must be one of invoke, ok, got "ack"']


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=HIGHEST), min_size=1, max_size=300))
def test_bulk_index_matches_hdrh(values: list[int]) -> None:
    h = HdrHistogram(1, HIGHEST, 3)
    arr = np.array(values, dtype=np.int64)
    assert counts_index(h, arr).tolist() == [h._counts_index_for(v) for v in values]
    bulk, clamped = histogram(arr)
    for v in values:
        h.record_value(v)
    assert clamped == 0
    for p in (50.0, 90.0, 99.0, 99.9, 100.0):
        assert bulk.get_value_at_percentile(p) == h.get_value_at_percentile(p)
    assert bulk.get_total_count() == len(values)


def test_summary_counts_read_as_sentences() -> None:
    from chaos.checks.base import counted

    one = slow_fault().run(CHECK, {"p99": "1s", "phase": "baseline"})
    assert one.ok and one.summary.startswith("1 bound holds: baseline p99"), one.summary
    two = slow_fault().run(CHECK, {"p99": "1s", "max": "2s", "phase": "baseline"})
    assert two.summary.startswith("2 bounds hold: "), two.summary
    assert [counted(n, "saga") for n in (0, 1, 2)] == ["0 sagas", "1 saga", "2 sagas"]
