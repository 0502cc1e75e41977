"""Every experiment in the library passes against the correct reference pipeline, and
those that exist for a rarely-run code path show in their run data that they reached it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.runner import ROOT, run_experiment

LIBRARY = sorted(p.name for p in (ROOT / "experiments").glob("*.yaml"))


def least(*paths: str) -> Callable[[dict[str, Any]], int]:
    """The smallest of these counts in observations.json `consumers` (the consumers' own,
    summed over pods), e.g. "shutdown.released": above zero when every one ran."""

    def count(obs: dict[str, Any]) -> int:
        def one(path: str) -> int:
            value: Any = obs["consumers"]
            for key in path.split("."):
                value = value[key]
            return int(value)

        return min(one(path) for path in paths)

    return count


def produced(*fields: str) -> Callable[[dict[str, Any]], int]:
    """The smallest of these counts in observations.json `producers.totals` (the reference
    producer's own, summed over its incarnations), e.g. "replayed"."""

    def count(obs: dict[str, Any]) -> int:
        return min(int(obs["producers"]["totals"].get(f, 0)) for f in fields)

    return count


OUTAGE = least(*(f"paths.{p}.{k}" for p in ("read", "reconnect", "reclaim")
                 for k in ("errors", "recoveries")))
# An experiment shows in its own run data that it reached the path it exists for.
REACHED: dict[str, Callable[[dict[str, Any]], int]] = {
    # the paused consumer found its sagas reclaimed and left them alone
    "consumer-pause-in-flight.yaml": lambda obs: int(obs["fencing"]["fenced"]),
    # a stopping consumer finished some sagas in flight and released others
    "rolling-restart.yaml": least("shutdown.finished", "shutdown.released"),
    # the broker away past the redis retry budget: the consumers' own paths failed, recovered
    "consumer-broker-outage.yaml": OUTAGE,
    "broker-outage.yaml": OUTAGE,
    # the restarted producer resent, from its write-ahead log, what the broker never took
    "producer-kill.yaml": produced("replayed"),
    "producer-crash-after-wal.yaml": produced("replayed"),
    # the producer's sends failed while the broker refused it, and were resent after
    "producer-broker-outage.yaml": produced("send_errors", "resent", "send_recoveries"),
}


def test_library_is_complete() -> None:
    wanted = {
        "consumer-kill.yaml", "consumer-kill-repeated.yaml",
        "consumer-crash-before-effects.yaml", "consumer-crash-after-effects.yaml",
        "consumer-pause.yaml", "consumer-redis-partition.yaml",
        "producer-redis-partition.yaml", "broker-kill.yaml", "payment-timeout.yaml",
        "inventory-blackhole.yaml", "consumer-redis-bandwidth.yaml",
        "publish-reset-peer.yaml", "poison-messages.yaml", "consumer-pause-in-flight.yaml",
        "rolling-restart.yaml", "consumer-broker-outage.yaml", "broker-outage.yaml",
        "producer-kill.yaml", "producer-crash-after-wal.yaml", "producer-broker-outage.yaml",
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
        assert REACHED[experiment](observations) > 0, (
            observations.get("fencing"), observations.get("consumers"),
            observations.get("producers"))
