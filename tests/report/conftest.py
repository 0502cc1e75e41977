"""Three real runs for the report tests, made once per session: one that passes, a
negative control that fails (a known-bad pipeline variant), and one that cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.runner import RunOutcome, run_experiment

HERE = Path(__file__).resolve().parent
RUNS = {
    "passed": (HERE / "experiments" / "report-faults.yaml", None),
    # the delivery check's own negative control: acknowledging before the effects loses
    # the order a consumer held when it crashed
    "failed": (Path("consumer-crash-before-effects.yaml"), "ack-before-effects"),
    "error": (HERE / "experiments" / "report-not-steady.yaml", None),
}


@pytest.fixture(scope="session")
def real_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, RunOutcome]]:
    root = tmp_path_factory.mktemp("report-runs")
    out = {}
    for kind, (experiment, bug) in RUNS.items():
        run_dir = root / kind
        out[kind] = (run_dir, run_experiment(experiment, run_dir, bug=bug))
    return out


@pytest.fixture(scope="session")
def passed_run(real_runs: dict[str, tuple[Path, RunOutcome]]) -> Path:
    run_dir, outcome = real_runs["passed"]
    assert outcome.result.get("status") == "passed", outcome.explain()
    return run_dir
