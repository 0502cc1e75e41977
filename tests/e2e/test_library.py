"""Every experiment in the library passes against the correct reference pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.runner import ROOT, run_experiment

LIBRARY = sorted(p.name for p in (ROOT / "experiments").glob("*.yaml"))


def test_library_is_complete() -> None:
    wanted = {
        "consumer-kill.yaml", "consumer-kill-repeated.yaml",
        "consumer-crash-before-effects.yaml", "consumer-crash-after-effects.yaml",
        "consumer-pause.yaml", "consumer-redis-partition.yaml",
        "producer-redis-partition.yaml", "broker-kill.yaml", "payment-timeout.yaml",
        "inventory-blackhole.yaml", "consumer-redis-bandwidth.yaml",
        "publish-reset-peer.yaml", "poison-messages.yaml",
    }
    assert wanted <= set(LIBRARY)


@pytest.mark.e2e
@pytest.mark.parametrize("experiment", LIBRARY)
def test_correct_pipeline_passes(experiment: str, tmp_path: Path) -> None:
    outcome = run_experiment(experiment, tmp_path / "run")
    assert outcome.exit_code == 0, outcome.explain()
    assert outcome.result["status"] == "passed"
    assert outcome.names(), "an experiment without verdicts proves nothing"
    assert all(v["ok"] for v in outcome.result["verdicts"])
