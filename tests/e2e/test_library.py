"""Every experiment in the library passes against the correct reference pipeline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.runner import ROOT, run_experiment

LIBRARY = sorted(p.name for p in (ROOT / "experiments").glob("*.yaml"))
# An experiment shows in its own run data that it reached the path it exists for.
REACHED: dict[str, Callable[[dict[str, Any]], int]] = {
    # the paused consumer found its sagas reclaimed and left them alone
    "consumer-pause-in-flight.yaml": lambda obs: int(obs["fencing"]["fenced"]),
}


def test_library_is_complete() -> None:
    wanted = {
        "consumer-kill.yaml", "consumer-kill-repeated.yaml",
        "consumer-crash-before-effects.yaml", "consumer-crash-after-effects.yaml",
        "consumer-pause.yaml", "consumer-redis-partition.yaml",
        "producer-redis-partition.yaml", "broker-kill.yaml", "payment-timeout.yaml",
        "inventory-blackhole.yaml", "consumer-redis-bandwidth.yaml",
        "publish-reset-peer.yaml", "poison-messages.yaml", "consumer-pause-in-flight.yaml",
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
    if experiment in REACHED:
        observations = json.loads((tmp_path / "run" / "observations.json").read_text())
        assert REACHED[experiment](observations) > 0, observations.get("fencing")
