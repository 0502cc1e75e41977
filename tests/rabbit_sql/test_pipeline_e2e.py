"""The rabbit-sql pipeline (targets/rabbit-sql.yaml) judged by the library experiments it did
not grow up with: it passes them, and each of its known-bad variants is caught by the
verdict that exists for it. Every run boots its own RabbitMQ and PostgreSQL (tens of
seconds), so the list is the minimum that proves each claim."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.runner import RunOutcome, run_experiment
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


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """Not under pytest's tmp_path (mode 0700): the servers' own users must reach their data."""
    require_package("rabbitmq-server", why="the rabbit-sql broker")
    require_package("postgresql", why="the rabbit-sql database")
    base = Path(tempfile.mkdtemp(prefix="pipechaos-rabbit-sql-"))
    base.chmod(0o711)
    try:
        yield base / "run"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run(experiment: str, run_dir: Path, bug: str | None = None) -> RunOutcome:
    return run_experiment(experiment, run_dir, bug=bug, timeout=300, target=TARGET)


def broker_log(run_dir: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in (run_dir / "pods").glob("broker-*.log"))


@pytest.mark.e2e
@pytest.mark.parametrize("experiment", PASSES)
def test_library_experiment_passes(experiment: str, run_dir: Path) -> None:
    outcome = run(experiment, run_dir)
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
def test_bug_is_caught(bug: str, experiment: str, verdict: str, run_dir: Path) -> None:
    outcome = run(experiment, run_dir, bug=bug)
    assert outcome.exit_code == 1, outcome.explain()
    assert outcome.result["status"] == "failed"
    assert verdict in outcome.failing(), outcome.explain()
