"""Judge a run directory: load what the invariants need, run each check, one verdict each.

The imperative shell around the pure checks. Nothing here raises for a bad run
directory: a missing or corrupt input becomes a failed verdict that says so, because
`pipechaos analyze` must report on whatever a crashed run left behind.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from chaos.checks.base import Check
from chaos.checks.journal_file import read_phases
from chaos.checks.model import (
    DeadLetters,
    History,
    Observations,
    Phases,
    Timeseries,
    Verdict,
)
from chaos.checks.observations_file import read_observations
from chaos.checks.timeseries_file import read_timeseries
from chaos.spec.models import InvariantSpec

INPUTS = ("history", "observations", "timeseries", "phases")
FILES = {
    "history": "history/",
    "observations": "observations.json",
    "timeseries": "timeseries.jsonl",
    "phases": "journal.jsonl",
}


@dataclass(frozen=True)
class RunData:
    """Every input a check may judge, with empty stand-ins for the ones that failed to load
    (`problems` says which and why), so a check that does not need them still runs."""

    run_dir: Path
    history: History
    observations: Observations
    timeseries: Timeseries
    phases: Phases
    problems: dict[str, str] = field(default_factory=dict)


def empty_history() -> History:
    i64, i8 = np.zeros(0, np.int64), np.zeros(0, np.int8)
    return History(i64, i8, i64, i64, np.zeros(0, np.bool_), [], i8)


def empty_observations() -> Observations:
    i64 = np.zeros(0, np.int64)
    return Observations(
        i64, np.zeros(0, np.int8), i64, i64, i64, i64, i64, {}, [],
        DeadLetters(i64, i64, []), {}, {},
    )  # fmt: skip


def _read_history(run_dir: Path) -> History:
    module = importlib.import_module("chaos.load.history")
    reader = cast(Callable[[Path], History], module.read_history)
    return reader(run_dir)


def load_run(run_dir: Path, needs: Iterable[str] = INPUTS) -> RunData:
    """Load the inputs named in `needs` (all by default); never raises for bad files."""
    wanted = set(needs)
    problems: dict[str, str] = {}
    readers: dict[str, Callable[[], Any]] = {
        "history": lambda: _read_history(run_dir),
        "observations": lambda: read_observations(run_dir / "observations.json"),
        "timeseries": lambda: read_timeseries(run_dir / "timeseries.jsonl"),
        "phases": lambda: read_phases(run_dir),
    }
    empty: dict[str, Callable[[], Any]] = {
        "history": empty_history,
        "observations": empty_observations,
        "timeseries": lambda: Timeseries(np.zeros(0, np.int64), {}),
        "phases": lambda: Phases({}, []),
    }
    loaded: dict[str, Any] = {}
    for name in INPUTS:
        if name not in wanted:
            loaded[name] = empty[name]()
            continue
        single = run_dir / FILES[name]
        if name in ("observations", "timeseries") and not single.exists():
            problems[name] = f"{FILES[name]} is missing from {run_dir}"
            loaded[name] = empty[name]()
            continue
        try:
            loaded[name] = readers[name]()
        except Exception as exc:  # any unreadable input is reported, never a crash
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            label = FILES[name].rstrip("/")
            problems[name] = message if message.startswith(label) else f"{label}: {message}"
            loaded[name] = empty[name]()
    if not run_dir.is_dir():
        problems = {n: f"run directory {run_dir} does not exist" for n in wanted}
    return RunData(run_dir, problems=problems, **loaded)


def get_check(name: str) -> Check:
    """The check registered under `name`; LookupError names the known ones."""
    from chaos import registry

    try:
        return registry.checks.get(name)
    except registry.RegistryError as exc:
        raise LookupError(str(exc)) from None


def _needs(check: Check) -> tuple[str, ...]:
    needs = getattr(check, "needs", INPUTS)
    return tuple(n for n in needs if n in INPUTS)


def _failed(name: str, summary: str) -> Verdict:
    return Verdict(name=name, ok=False, summary=summary, metrics={})


def select(invariants: list[InvariantSpec], only: str | None) -> list[InvariantSpec]:
    """The invariants to run: all, or those whose verdict or check is named `only` (a check
    name the experiment does not list runs with default parameters)."""
    if only is None:
        return list(invariants)
    chosen = [i for i in invariants if only in (i.verdict_name, i.check)]
    return chosen or [InvariantSpec(check=only)]


def judge(data: RunData, invariants: list[InvariantSpec]) -> list[Verdict]:
    """One verdict per invariant over already loaded data."""
    verdicts = []
    for inv in invariants:
        name = inv.verdict_name
        try:
            check = get_check(inv.check)
        except LookupError as exc:
            verdicts.append(_failed(name, str(exc)))
            continue
        params = inv.params
        errors = check.validate(params)
        if errors:
            verdicts.append(_failed(name, "invalid parameters: " + "; ".join(errors)))
            continue
        missing = [data.problems[n] for n in _needs(check) if n in data.problems]
        if missing:
            verdicts.append(_failed(name, "cannot check: " + "; ".join(missing)))
            continue
        try:
            verdict = check(data.history, data.observations, data.timeseries, data.phases, params)
        except Exception as exc:  # a broken check must not hide the other verdicts
            verdicts.append(_failed(name, f"check crashed: {type(exc).__name__}: {exc}"))
            continue
        verdicts.append(dataclasses.replace(verdict, name=name))
    return verdicts


def run_checks(
    run_dir: Path, invariants: list[InvariantSpec], only: str | None = None
) -> list[Verdict]:
    """Load the run directory (only the inputs the chosen checks need) and judge it."""
    chosen = select(invariants, only)
    needs: set[str] = set()
    for inv in chosen:
        try:
            needs.update(_needs(get_check(inv.check)))
        except LookupError:
            continue
    # offender labels (phase, fault) come from the journal whenever it is there
    if needs and (run_dir / FILES["phases"]).exists():
        needs.add("phases")
    return judge(load_run(run_dir, needs), chosen)
