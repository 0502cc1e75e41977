"""The rabbit-sql pipeline (targets/rabbit-sql.yaml) judged by the library experiments it did
not grow up with: it passes them, and each of its known-bad variants is caught by the
verdict that exists for it. Every run boots its own RabbitMQ and PostgreSQL (tens of
seconds), so the list is the minimum that proves each claim, and the runs go side by side."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.parallel import Runs, module_runs
from tests.system import require_package

TARGET = "targets/rabbit-sql.yaml"
HEARTBEAT = "consumer-heartbeat-timeout.yaml"

PASSES = ["consumer-kill.yaml", "consumer-redis-partition.yaml", "broker-kill.yaml",
          "poison-messages.yaml", HEARTBEAT]
CAUGHT = [
    # ACKed on receipt, killed at the crash point before its commit: the order is lost
    ("ack-before-commit", "consumer-crash-before-effects.yaml", "delivery"),
    # killed after the commit, before the ACK: the redelivery applies the effects again
    ("no-unique-key", "consumer-crash-after-effects.yaml", "effects"),
    # expired retries are dropped, not dead-lettered: poison never reaches the DLQ
    ("no-dlx", "poison-messages.yaml", "dlq"),
    # heartbeats off: the broker keeps the frozen worker's messages for the whole pause
    ("no-heartbeat", HEARTBEAT, "latency"),
]


# runs at a time: most of a run is waiting (boot, load window, drain)
PARALLEL = int(os.environ.get("PIPECHAOS_RABBIT_SQL_PARALLEL", "3"))


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Iterator[Runs]:
    require_package("rabbitmq-server", why="the rabbit-sql broker")
    require_package("postgresql", why="the rabbit-sql database")
    yield from module_runs(request, lambda params: (params["experiment"], params.get("bug")),
                           parallel=PARALLEL, timeout=400, target=TARGET)


def broker_log(run_dir: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in (run_dir / "pods").glob("broker-*.log"))


@pytest.mark.e2e
@pytest.mark.parametrize("experiment", PASSES)
def test_library_experiment_passes(experiment: str, runs: Runs) -> None:
    outcome, run_dir = runs.get(experiment)
    assert outcome.exit_code == 0, outcome.explain()
    assert outcome.result["status"] == "passed"
    assert outcome.names() and all(v["ok"] for v in outcome.result["verdicts"])
    observations = json.loads((run_dir / "observations.json").read_text())
    assert observations["observer"] == "sql" and observations["saga"] == []
    if experiment == "poison-messages.yaml":
        assert outcome.verdict("dlq")["metrics"]["dead_lettered"] > 0, outcome.explain()
    if experiment == HEARTBEAT:
        # the broker dropped the frozen worker for its missed heartbeats, and requeued its
        # unacknowledged messages to the others (their deliveries carry the redelivered flag)
        assert "missed heartbeats from client" in broker_log(run_dir)
        assert sum(observations["orders"]["redeliveries"]) > 0, outcome.explain()


@pytest.mark.e2e
@pytest.mark.parametrize(("bug", "experiment", "verdict"), CAUGHT)
def test_bug_is_caught(bug: str, experiment: str, verdict: str, runs: Runs) -> None:
    outcome, _ = runs.get(experiment, bug)
    assert outcome.exit_code == 1, outcome.explain()
    assert outcome.result["status"] == "failed"
    assert verdict in outcome.failing(), outcome.explain()
