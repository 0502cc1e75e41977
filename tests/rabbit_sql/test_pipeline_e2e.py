"""The rabbit-sql pipeline (targets/rabbit-sql.yaml) judged by the library experiments it did
not grow up with: it passes them, and each of its known-bad variants is caught by the
verdict that exists for it. Every run boots its own RabbitMQ and PostgreSQL (tens of
seconds), so the list is the minimum that proves each claim, and the runs go side by side."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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


# runs at a time: most of a run is waiting (boot, load window, drain)
PARALLEL = int(os.environ.get("PIPECHAOS_RABBIT_SQL_PARALLEL", "3"))


class Runs:
    """The selected runs of this module, started together on first use, PARALLEL at a time,
    each in its own directory (not under pytest's tmp_path, mode 0700: the servers' own
    users must reach their data)."""

    def __init__(self, wanted: list[tuple[str, str | None]]) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="pipechaos-rabbit-sql-"))
        self.base.chmod(0o711)
        self.pool = ThreadPoolExecutor(max_workers=PARALLEL)
        self.futures: dict[tuple[str, str | None], Future[RunOutcome]] = {}
        for key in wanted:
            self.start(key)

    def dir(self, key: tuple[str, str | None]) -> Path:
        """The run's directory; its parent also holds the run's own lock directory, so that
        runs side by side do not find the target busy."""
        return self.base / f"{key[0].removesuffix('.yaml')}-{key[1] or 'correct'}" / "run"

    def start(self, key: tuple[str, str | None]) -> Future[RunOutcome]:
        if key not in self.futures:
            self.futures[key] = self.pool.submit(
                run_experiment, key[0], self.dir(key), bug=key[1], timeout=400, target=TARGET)
        return self.futures[key]

    def get(self, experiment: str, bug: str | None = None) -> tuple[RunOutcome, Path]:
        key = (experiment, bug)
        return self.start(key).result(), self.dir(key)


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Iterator[Runs]:
    require_package("rabbitmq-server", why="the rabbit-sql broker")
    require_package("postgresql", why="the rabbit-sql database")
    wanted: list[tuple[str, str | None]] = []
    for item in request.session.items:  # only the runs of the tests selected in this session
        spec = getattr(item, "callspec", None)
        if getattr(item, "module", None) is request.module and spec is not None:
            wanted.append((spec.params["experiment"], spec.params.get("bug")))
    result = Runs(wanted)
    try:
        yield result
    finally:
        result.pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(result.base, ignore_errors=True)


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
