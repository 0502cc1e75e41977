"""broker-failover's negative control: plain asynchronous replication loses what the
primary acknowledged but never sent to the replica it promotes (the experiment cuts the
replication link first, so the loss is certain, not a race)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.runner import run_experiment


@pytest.mark.e2e
def test_unsafe_replication_fails_delivery(tmp_path: Path) -> None:
    outcome = run_experiment("broker-failover.yaml", tmp_path / "run",
                             target="reference-local-ha-unsafe")
    assert outcome.exit_code == 1, outcome.explain()
    assert "delivery" in outcome.failing(), outcome.explain()
    assert outcome.verdict("delivery")["metrics"]["lost"] > 0, outcome.explain()
    broker = json.loads((tmp_path / "run" / "observations.json").read_text())["broker"]
    assert broker["failed_over"], broker  # lost in the failover, not some other way
