"""Every experiment in the library passes against the correct reference pipeline, and
those that exist for a rarely-run code path show in their run data that they reached it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.runner import ROOT, run_experiment

LIBRARY = sorted(p.name for p in (ROOT / "experiments").glob("*.yaml"))

# experiment -> counts in observations.json `consumers` (the consumers' own, summed over
# pods) that must be above zero: the code path the experiment exists for ran.
REACHES: dict[str, list[tuple[str, ...]]] = {
    "rolling-restart.yaml": [("shutdown", "in_flight"), ("shutdown", "finished"),
                             ("shutdown", "released")],
    "consumer-broker-outage.yaml": [("paths", p, k) for p in ("read", "reconnect", "reclaim")
                                    for k in ("errors", "recoveries")],
    "broker-outage.yaml": [("paths", p, k) for p in ("read", "reconnect", "reclaim")
                           for k in ("errors", "recoveries")],
}


def reached(run_dir: Path, experiment: str) -> dict[str, int]:
    """The counts REACHES names for `experiment`, read from the run directory alone."""
    section = json.loads((run_dir / "observations.json").read_bytes())["consumers"]
    out = {}
    for keys in REACHES.get(experiment, []):
        value = section
        for key in keys:
            value = value[key]
        out[".".join(keys)] = int(value)
    return out


def test_library_is_complete() -> None:
    wanted = {
        "consumer-kill.yaml", "consumer-kill-repeated.yaml",
        "consumer-crash-before-effects.yaml", "consumer-crash-after-effects.yaml",
        "consumer-pause.yaml", "consumer-redis-partition.yaml",
        "producer-redis-partition.yaml", "broker-kill.yaml", "payment-timeout.yaml",
        "inventory-blackhole.yaml", "consumer-redis-bandwidth.yaml",
        "publish-reset-peer.yaml", "poison-messages.yaml",
        "rolling-restart.yaml", "consumer-broker-outage.yaml", "broker-outage.yaml",
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
    counts = reached(tmp_path / "run", experiment)
    assert all(counts.values()), f"{experiment} did not reach its code path: {counts}"
