"""recovery: back to the baseline level within the bound after the last heal; progress."""

from __future__ import annotations

from collections.abc import Callable

from chaos.checks.model import Phases, Verdict
from chaos.checks.recovery import CHECK
from tests.checks.builders import Scenario, series

TIMES = [0.5 * k for k in range(81)]  # 0 .. 40 s, as the sampler writes


def run(
    lag: Callable[[float], float | None],
    rate: Callable[[float], float | None] = lambda t: 100,
    params: dict[str, object] | None = None,
    phases: Phases | None = None,
) -> Verdict:
    ts = series(
        TIMES,
        lag=[lag(t) for t in TIMES],
        pending=[(lag(t) or 0) / 2 for t in TIMES],
        completion_rate=[rate(t) for t in TIMES],
    )
    return Scenario(phases=phases).run(CHECK, params or {}, timeseries=ts)


def backlog(until: float) -> Callable[[float], float]:
    """Lag 3..7 in baseline, 400 from the first fault until `until`, 4 after."""
    return lambda t: 400.0 if 12 <= t < until else 3.0 + (t * 2) % 5


def test_recovers_within_bound() -> None:
    v = run(backlog(21.0))
    assert v.ok, v.summary
    assert v.metrics["recovery_s"] == 3.0  # last heal at 18 s, level reached at 21 s
    assert 7 < v.metrics["levels"]["lag"] <= 17


def test_recovers_too_slowly() -> None:
    v = run(backlog(34.0))
    assert not v.ok and v.metrics["recovery_s"] == 16.0
    assert "16.0s after heal > 10s" in v.summary
    assert run(backlog(34.0), params={"within": "20s"}).ok


def test_never_recovers() -> None:
    v = run(lambda t: 400.0 if t >= 12 else 5.0)
    assert not v.ok and v.metrics["recovery_s"] is None
    assert "not back to baseline level" in v.summary


def test_brief_dip_does_not_count_as_recovered() -> None:
    def dip(t: float) -> float:
        return 5.0 if t < 12 or t == 20.0 or t >= 25 else 400.0

    v = run(dip)
    assert v.metrics["recovery_s"] == 7.0  # 20.0 is a single sample, not held for 1 s


def test_failed_probe_samples_are_not_recovery() -> None:
    v = run(lambda t: None if 18 <= t < 27 else backlog(19.0)(t))
    assert v.ok and v.metrics["recovery_s"] == 9.0  # unknown until 27 s, not since 19 s


def test_no_faults_nothing_to_recover() -> None:
    v = run(backlog(0), phases=Phases(bounds={"baseline": (0, 1)}, faults=[]))
    assert v.ok and "nothing to recover" in v.summary


def test_timeseries_ending_before_the_heal_fails() -> None:
    early = [0.5 * k for k in range(30)]  # 0 .. 14.5 s; the last heal is at 18 s
    ts = series(early, lag=[1.0] * 30, pending=[1.0] * 30)
    v = Scenario().run(CHECK, {}, timeseries=ts)
    assert not v.ok and v.summary == "timeseries ends 3.5s before the last heal"


def test_no_samples_fails() -> None:
    v = Scenario().run(CHECK, {}, timeseries=series([], lag=[], pending=[]))
    assert not v.ok and v.summary == "timeseries has no samples"


def test_missing_column_fails() -> None:
    v = Scenario().run(CHECK, {}, timeseries=series(TIMES, lag=[1.0] * len(TIMES)))
    assert not v.ok and v.summary == "timeseries has no column pending"


def test_progress_during_faults() -> None:
    ok = run(backlog(21.0), params={"progress": {"min": 20, "per": "1s"}})
    assert ok.ok and ok.metrics["progress"]["windows"] == 10
    assert ok.metrics["progress"]["min_seen"] == 100.0

    def stall(t: float) -> float:
        return 0.0 if 15 <= t < 17 else 100.0

    v = run(backlog(21.0), stall, params={"progress": {"min": 20, "per": "1s"}})
    assert not v.ok and v.metrics["progress"]["below_min"] == 2
    unknown = run(backlog(21.0), lambda t: None if 15 <= t < 16 else 100.0,
                  params={"progress": {"min": 20}})
    assert not unknown.ok and unknown.metrics["progress"]["below_min"] == 1


def test_validate() -> None:
    good = {"within": "10s", "slack": 5, "hold": "2s", "metrics": ["lag"],
            "progress": {"min": 10, "per": "1s"}}
    assert CHECK.validate(good) == []
    assert CHECK.validate({"within": 10}) == ["within: must be a duration like 30s, got 10"]
    assert CHECK.validate({"progress": {"min": -1, "every": "1s"}}) == [
        "progress.every: unknown parameter (known: min, per)",
        "progress.min: must be a number >= 0, got -1",
    ]
    assert CHECK.validate({"progress": 5}) == ["progress: must be a mapping, got 5"]
