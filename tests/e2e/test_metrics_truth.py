"""metrics_truth's negative control: on consumer-pause-in-flight (a paused consumer's sagas
are reclaimed, so the run certainly has deliveries beyond the first), the bug variant
`metrics-swallow-duplicates` counts none of them and is caught by metrics_truth alone.
The correct pipeline's run of the same experiment (tests/e2e/test_library.py) passes it,
and shows the duplicates in its run data (REACHED there)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.formats.observations import read_document, to_lists
from tests.e2e.runner import run_experiment


@pytest.mark.e2e
def test_a_dashboard_that_hides_duplicates_fails_metrics_truth_only(tmp_path: Path) -> None:
    outcome = run_experiment("consumer-pause-in-flight.yaml", tmp_path / "run",
                             bug="metrics-swallow-duplicates")
    assert outcome.exit_code == 1, outcome.explain()
    assert outcome.failing() == ["metrics_truth"], outcome.explain()
    metrics = outcome.verdict("metrics_truth")["metrics"]
    assert metrics["duplicates_truth"] > 1 and metrics["duplicates_shown"] == 0, metrics
    observations = to_lists(read_document(tmp_path / "run" / "observations.json"))
    assert sum(observations["orders"]["redeliveries"]) == metrics["duplicates_truth"]
    # the sampler read the consumers' own metrics all along (one column per metric)
    rows = [json.loads(x) for x in (tmp_path / "run" / "timeseries.jsonl").read_text()
            .splitlines()[1:]]
    processed = [r["prometheus:processed"] for r in rows if r["prometheus:processed"] is not None]
    assert processed and processed[-1] >= 1000, processed[-3:]
