"""Allowed hours and --max-duration: the pure spec, the CLI flags, and runs with the test
plugins (an injected clock ends the hours while a marker fault is applied)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chaos.run.hours import HoursError, Limits, parse, parse_duration

from .core_helpers import run_cli
from .test_run import assert_all_reverted_once, journal, last_states, markers

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def test_inside_and_outside_weekday_hours() -> None:
    hours = parse("Mon-Fri 09:00-17:00 Europe/Berlin")
    # 2026-11-30 is a Monday
    assert hours.stretch(berlin(2026, 11, 30, 9, 0)) == (
        berlin(2026, 11, 30, 9, 0), berlin(2026, 11, 30, 17, 0))  # fmt: skip
    assert hours.stretch(berlin(2026, 11, 30, 16, 59)) is not None
    assert hours.stretch(berlin(2026, 11, 30, 17, 0)) is None
    assert hours.stretch(berlin(2026, 11, 30, 8, 59)) is None
    assert hours.stretch(berlin(2026, 12, 5, 12, 0)) is None  # Saturday
    # the zone decides, not the caller's: 08:30 UTC in winter is 09:30 in Berlin
    assert hours.stretch(datetime(2026, 11, 30, 8, 30, tzinfo=UTC)) is not None


def test_overnight_wrapping_days_and_daylight_saving() -> None:
    night = parse("Fri-Mon 22:00-06:00 Europe/Berlin")
    assert night.days == {4, 5, 6, 0}
    start, end = night.stretch(berlin(2026, 12, 1, 3, 0)) or (None, None)  # Tue 03:00
    assert start == berlin(2026, 11, 30, 22, 0) and end == berlin(2026, 12, 1, 6, 0)
    assert night.stretch(berlin(2026, 12, 2, 3, 0)) is None  # Wed 03:00: Tue not allowed
    # 2026-03-29: clocks go forward at 02:00; the stretch is 8 wall hours, 7 real ones
    day = parse("daily 00:00-08:00 Europe/Berlin")
    s, e = day.stretch(berlin(2026, 3, 29, 5, 0)) or (None, None)
    assert s is not None and e is not None
    assert e.astimezone(UTC) - s.astimezone(UTC) == timedelta(hours=7)
    assert parse("Sat,Mon 10:00-24:00").stretch(datetime(2026, 12, 5, 23, 59, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Mon-Fri 09:00-17:00 Europe/Berlim", 'unknown time zone "Europe/Berlim"'),
        ("Mon-Fry 09:00-17:00", 'unknown day "Fry"'),
        ("Mon-Fri 9-17", "want HH:MM-HH:MM"),
        ("Mon-Fri 09:00-25:00", '"25:00" is not a time of day'),
        ("Mon-Fri 09:00-09:00", "allow no time"),
        ("09:00-17:00", 'want "DAYS HH:MM-HH:MM [ZONE]"'),
    ],
)
def test_bad_specs_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(HoursError) as info:
        parse(text)
    assert says in str(info.value) and "\n" not in str(info.value)


def test_limits_gate_picks_the_earlier_end() -> None:
    now = berlin(2026, 11, 30, 16, 0)
    hours = parse("Mon-Fri 09:00-17:00 Europe/Berlin")
    skip, deadline, why = Limits(hours, 600, clock=lambda: now).gate()
    assert skip is None and deadline == now + timedelta(minutes=10) and "600s" in why
    skip, deadline, why = Limits(hours, 7200, clock=lambda: now).gate()
    assert deadline == berlin(2026, 11, 30, 17, 0) and "allowed hours" in why
    skip, _, _ = Limits(hours, clock=lambda: berlin(2026, 11, 29, 12, 0)).gate()
    assert skip is not None and "outside the allowed hours" in skip and "Sun 12:00" in skip
    assert parse_duration("1h30m") == 5400 and parse_duration("2.5s") == 2.5
    for bad in ("", "10", "0s", "ten minutes"):
        with pytest.raises(HoursError):
            parse_duration(bad)


def test_bad_flags_exit_2_with_one_line_and_touch_nothing(work: Path) -> None:
    for flag, value in (("--allowed-hours", "Mon-Fri 09:00-17:00 Mars/Olympus"),
                        ("--max-duration", "soon")):  # fmt: skip
        proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r", flag, value], work)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith(f"pipechaos: {flag}: ")
        assert len(proc.stderr.strip().splitlines()) == 1 and not (work / "r").exists()


def test_outside_the_hours_the_run_is_skipped_and_touches_nothing(work: Path) -> None:
    other_day = (datetime.now(UTC) + timedelta(days=3)).strftime("%a")
    proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r",
                    "--allowed-hours", f"{other_day} 00:00-24:00 UTC"], work)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads((work / "r" / "result.json").read_text())
    assert result["status"] == "skipped" and result["exit_code"] == 0
    assert "outside the allowed hours" in result["reason"]
    assert not (work / "r" / "platform-up").exists() and not (work / "markers").exists()
    assert result["faults"] == [] and result["phases"] == {}


def test_inside_the_hours_the_run_passes(work: Path) -> None:
    proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r",
                    "--allowed-hours", "daily 00:00-24:00 UTC", "--max-duration", "5m"],
                   work)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads((work / "r" / "result.json").read_text())
    assert result["status"] == "passed" and markers(work) == []


def _run_in_process(work: Path, limits: Limits) -> tuple[object, Path]:
    from chaos.report.progress import PlainProgress
    from chaos.run.orchestrator import Run
    from chaos.run.rundir import prepare_run_dir
    from chaos.spec.validate import check_experiment_file

    checked = check_experiment_file(work / "experiments" / "markers.yaml")
    run_id, run_dir = prepare_run_dir(checked, 1, work / "r")
    with (work / "progress.log").open("w") as log:
        result = Run(checked, 1, run_dir, run_id, PlainProgress(log), limits=limits).execute()
    return result, run_dir


def test_hours_ending_mid_run_abort_and_revert(work: Path) -> None:
    """The injected clock reads 16:59 until a marker fault is applied, then 17:00."""
    applied: list[bool] = []

    def clock() -> datetime:
        if markers(work):
            applied.append(True)
        return berlin(2026, 11, 30, 17, 0) if applied else berlin(2026, 11, 30, 16, 59)

    hours = parse("Mon-Fri 09:00-17:00 Europe/Berlin")
    result, run_dir = _run_in_process(work, Limits(hours, clock=clock))
    assert applied, "the run never applied a fault before the hours ended"
    assert result.status == "aborted" and result.exit_code == 1  # type: ignore[attr-defined]
    reason = result.reason  # type: ignore[attr-defined]
    assert "allowed hours Mon-Fri 09:00-17:00 Europe/Berlin ended" in reason
    assert reason.endswith("the run was stopped before its end")
    entries = journal(run_dir)
    assert any(e.get("event") == "abort" for e in entries)
    assert last_states(entries) and (run_dir / "platform-down").exists()
    import os

    assert_all_reverted_once(work, run_dir, os.getpid())
    assert "reverted 1 fault: f0.0 test.marker" in (work / "progress.log").read_text()


def test_max_duration_aborts_like_the_hours(work: Path) -> None:
    start = datetime.now(UTC)
    fast = lambda: start + (datetime.now(UTC) - start) * 4  # noqa: E731  # 4x speed
    result, run_dir = _run_in_process(work, Limits(max_duration_s=2.0, clock=fast))
    assert result.status == "aborted"  # type: ignore[attr-defined]
    assert "maximum duration 2s" in result.reason  # type: ignore[attr-defined]
    assert markers(work) == [] and (run_dir / "platform-down").exists()
