"""Each known-bad variant of the reference pipeline is caught by the check that exists for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.runner import run_experiment

MATRIX = [
    ("ack-before-effects", "consumer-crash-before-effects.yaml", "delivery"),
    ("no-idempotency", "consumer-crash-after-effects.yaml", "effects"),
    ("no-compensation", "payment-timeout.yaml", "saga"),
    ("no-reclaim", "consumer-kill.yaml", "delivery"),
    ("no-dlq", "poison-messages.yaml", "dlq"),
]


@pytest.mark.e2e
@pytest.mark.parametrize(("bug", "experiment", "verdict"), MATRIX)
def test_bug_is_caught(bug: str, experiment: str, verdict: str, tmp_path: Path) -> None:
    outcome = run_experiment(experiment, tmp_path / "run", bug=bug)
    assert outcome.exit_code == 1, outcome.explain()
    assert outcome.result["status"] == "failed"
    assert verdict in outcome.failing(), outcome.explain()
