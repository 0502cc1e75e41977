"""metrics_truth: the pipeline's own duplicate counters and lag gauge against the truth."""

from __future__ import annotations

from typing import Any

import numpy as np

from chaos.checks.metrics_truth import CHECK, increase
from chaos.checks.model import Timeseries
from chaos.checks.truth_spec import METRICS_TRUTH
from tests.checks.builders import Scenario, series

TIMES = [x / 2 for x in range(0, 81)]  # 0 .. 40 s every 0.5 s
DUP = "prometheus:duplicates.0"
DUP1 = "prometheus:duplicates.1"
LAG = "prometheus:lag_ms"


def scenario() -> Scenario:
    """100 orders over 30 s; ten published at 15 s sit 3 s (a partition), each delivered
    twice: 10 duplicates and a 3 s lag, in fault f1.0 (15 s - 18 s)."""
    s = Scenario()
    for i in range(100):
        s.add(i, t=0.3 * i + 0.05)
    for i in range(100, 110):
        s.add(i, t=15.0, took=3.0, redeliveries=1)
    return s


def truthful(**over: list[float | None]) -> Timeseries:
    dup = [0.0 if t < 17.5 else 10.0 for t in TIMES]  # counted at redelivery, before terminal
    lag = [2950.0 if t == 18.0 else 60.0 for t in TIMES]  # the reclaimer took them at ~17.9 s
    columns: dict[str, list[float | None]] = {DUP: list(dup), LAG: list(lag)}
    columns.update(over)
    return series(TIMES, **columns)


def run(ts: Timeseries, params: dict[str, Any] | None = None, s: Scenario | None = None) -> Any:
    return (s or scenario()).run(CHECK, params or {}, timeseries=ts)


def test_a_truthful_dashboard_passes() -> None:
    v = run(truthful())
    assert v.ok, v.summary
    assert v.metrics["duplicates_truth"] == 10 and v.metrics["duplicates_shown"] == 10
    rows = {r["window"]: r for r in v.metrics["windows"]}
    assert set(rows) == {"f0.0", "f1.0", "run"}
    assert rows["f1.0"]["duplicates"] == {"truth": 10, "shown": 10}
    assert rows["f1.0"]["lag_ms"]["truth_peak"] == 3000.0
    assert rows["f1.0"]["lag_ms"]["shown_peak"] == 2950.0
    assert rows["f0.0"]["duplicates"] == {"truth": 0, "shown": 0}


def test_swallowed_duplicates_fail() -> None:
    v = run(truthful(**{DUP: [0.0] * len(TIMES)}))
    assert not v.ok
    assert v.summary.startswith("f1.0: the pipeline counted 0 duplicates, the observations "
                                "prove 10; run: the pipeline counted 0 duplicates"), v.summary


def test_duplicates_counted_twice_fail_too() -> None:
    v = run(truthful(**{DUP: [0.0 if t < 17.5 else 20.0 for t in TIMES]}))
    assert not v.ok and "counted 20 duplicates, the observations prove 10" in v.summary


def test_tolerances_are_parameters() -> None:
    few = truthful(**{DUP: [0.0 if t < 17.5 else 8.0 for t in TIMES]})
    assert run(few).ok  # within 25 % of 10 (default)
    assert not run(few, {"dup_tolerance": 0.1, "dup_slack": 1}).ok


def test_a_dashboard_that_hid_the_lag_fails() -> None:
    v = run(truthful(**{LAG: [60.0] * len(TIMES)}))
    assert not v.ok
    assert v.summary.startswith("f1.0: the pipeline showed lag 60 ms at most, the history "
                                "proves 3000 ms"), v.summary
    assert run(truthful(**{LAG: [1600.0 if t == 18.0 else 60.0 for t in TIMES]})).ok  # 50 %
    assert not run(truthful(**{LAG: [1600.0 if t == 18.0 else 60.0 for t in TIMES]}),
                   {"lag_tolerance": 0.1}).ok


def test_counters_restart_and_pods_that_cannot_be_scraped_leave_gaps() -> None:
    # pod 0 counted 4 before it was killed at 16.5 s; its new process counted 6 more.
    # pod 1 is paused from 14 s to 19 s (no sample), and its count did not change.
    pod0 = [0.0 if t < 16 else 4.0 if t < 16.5 else 0.0 if t < 17.5 else 6.0 for t in TIMES]
    pod1 = [None if 14 <= t < 19 else 0.0 if t < 1.5 else 3.0 for t in TIMES]
    s = scenario()
    s.add(200, t=1.0, redeliveries=3)  # pod 1's three, in the baseline
    v = run(truthful(**{DUP: pod0, DUP1: pod1}), s=s)
    assert v.ok, v.summary
    assert v.metrics["duplicates_columns"] == [DUP, DUP1]
    _, cum = increase(np.array([1, 2, 3, 4]), np.array([2.0, 5.0, 1.0, 4.0]))
    assert list(cum) == [0.0, 3.0, 4.0, 7.0]


def test_missing_columns_fail_naming_them() -> None:
    v = run(series(TIMES, lag=[0.0] * len(TIMES)))
    assert not v.ok
    assert v.summary.startswith("timeseries has no column prometheus:duplicates*, "
                                "prometheus:lag_ms: ")


def test_parameters_are_validated() -> None:
    assert sorted(METRICS_TRUTH.validate({"dup_tolerance": -1, "lag_slack": "soon", "lag": 3})) == [
        "dup_tolerance: must be a number >= 0, got -1",
        "lag: must be a timeseries column name, got 3",
        'lag_slack: must be a duration like 30s, got "soon"',
    ]
    assert METRICS_TRUTH.validate({"duplicate": "x"})[0].startswith("duplicate: unknown parameter")


def test_registered_spec_matches_the_implementation() -> None:
    from chaos import registry
    from chaos.checks.lazy import LazyCheck

    lazy = registry.checks.get("metrics_truth")
    assert isinstance(lazy, LazyCheck) and lazy.load() is CHECK
    assert lazy.needs == CHECK.needs
