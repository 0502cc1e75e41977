"""`latency` and `recovery` each fail when a fault really pushes the pipeline past the bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.runner import run_experiment

HERE = Path(__file__).parent / "experiments"


@pytest.mark.e2e
def test_latency_fault_breaks_a_tight_bound(tmp_path: Path) -> None:
    outcome = run_experiment(HERE / "latency-past-bound.yaml", tmp_path / "run")
    assert outcome.exit_code == 1, outcome.explain()
    assert set(outcome.failing()) == {"latency-fault", "latency-relative"}, outcome.explain()
    assert outcome.verdict("delivery")["ok"], outcome.explain()


@pytest.mark.e2e
def test_frozen_consumers_break_a_tight_recovery_bound(tmp_path: Path) -> None:
    outcome = run_experiment(HERE / "recovery-past-bound.yaml", tmp_path / "run")
    assert outcome.exit_code == 1, outcome.explain()
    assert outcome.failing() == ["recovery"], outcome.explain()
