"""Each known-bad variant of the reference pipeline is caught by the check that exists for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.parallel import Runs, module_runs
from tests.e2e.runner import ROOT, run_experiment

MATRIX = [
    ("ack-before-effects", "consumer-crash-before-effects.yaml", "delivery"),
    ("no-idempotency", "consumer-crash-after-effects.yaml", "effects"),
    ("no-compensation", "payment-timeout.yaml", "saga"),
    # A consumer SIGKILLed at a random instant may hold nothing pending (it was seen in
    # CI: 0 redelivered), so the no-reclaim control uses the crash point instead: the
    # dead consumer's entry is certainly pending and only reclaim can recover it.
    ("no-reclaim", "consumer-crash-before-effects.yaml", "delivery"),
    ("no-dlq", "poison-messages.yaml", "dlq"),
    # A paused consumer wakes up holding sagas another consumer reclaimed and completed,
    # and compensates them: blame must name the pause, not the latency in force at publish.
    ("no-fencing", "consumer-pause-in-flight.yaml", "saga"),
    # consumer-kill carries no `dlq`: delivery alone must catch valid orders dead-lettered.
    ("dead-letter-valid", "consumer-kill.yaml", "delivery"),
    # ACKs what it holds at SIGTERM and drops the work: those orders never finish
    ("shutdown-acks-in-flight", "rolling-restart.yaml", "delivery"),
    # stops reading after its first redis error: once the broker is away past the redis
    # retry budget, every consumer meets one (a full consumer does not read, but its
    # reclaim loop still runs), so all stop and the backlog never drains
    ("no-reconnect", "consumer-broker-outage.yaml", "delivery"),
    ("no-reconnect", "broker-outage.yaml", "delivery"),
    # a release that meets the partitioned inventory hop is tried once and dropped: the
    # compensated order keeps its stock reserved
    ("no-compensation-retry", "inventory-partition-compensation.yaml", "saga"),
    # a charge whose handshake timed out is taken as made: sagas complete uncharged
    ("handshake-timeout-as-charged", "payment-expiry-handshake-timeout.yaml", "saga"),
    # the producer never resends: what it confirmed from its WAL but the broker refused
    # during the outage is lost. (producer-kill and producer-crash-after-wal catch it too,
    # checked by hand; CI time is short, and tests/producer/test_producer.py proves the
    # crash-point case at process level in seconds.)
    ("no-replay", "producer-broker-outage.yaml", "delivery"),
]
BLAMED = {"no-fencing": ("pod.pause", "pod")}  # fault type and rule the offenders must name
# The metric that must be above zero in the failing verdict: the run reached the bug.
REACHED = {"dead-letter-valid": "dead_lettered_valid"}


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Iterator[Runs]:
    yield from module_runs(request, lambda params: (params["experiment"], params["bug"])
                           if "bug" in params else None)


@pytest.mark.e2e
@pytest.mark.parametrize(("bug", "experiment", "verdict"), MATRIX)
def test_bug_is_caught(bug: str, experiment: str, verdict: str, runs: Runs) -> None:
    outcome, run_dir = runs.get(experiment, bug)
    assert outcome.exit_code == 1, outcome.explain()
    assert outcome.result["status"] == "failed"
    assert verdict in outcome.failing(), outcome.explain()
    if bug in BLAMED:
        plan = json.loads((run_dir / "plan.json").read_text())
        types = {o["id"]: o["type"] for o in plan["occurrences"]}
        sample = outcome.verdict(verdict)["offenders"]["sample"]
        blamed = {(types.get(o["fault"]), o.get("blame")) for o in sample}
        assert blamed == {BLAMED[bug]}, (sample, types)
    if bug in REACHED:
        assert outcome.verdict(verdict)["metrics"][REACHED[bug]] > 0, outcome.explain()


@pytest.mark.e2e
def test_producer_confirming_before_its_wal_is_caught(tmp_path: Path) -> None:
    """`wal-after-ack`: the crash point between the 200 and the WAL write exists only in
    that variant, so its experiment is a test file, not a library one."""
    experiment = ROOT / "tests" / "e2e" / "experiments" / "producer-crash-after-ack.yaml"
    outcome = run_experiment(experiment, tmp_path / "run", bug="wal-after-ack")
    assert outcome.exit_code == 1, outcome.explain()
    assert "delivery" in outcome.failing(), outcome.explain()
    assert outcome.verdict("delivery")["metrics"]["lost"] > 0, outcome.explain()
