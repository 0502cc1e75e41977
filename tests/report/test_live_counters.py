"""The live view's counters (published, completed, lag) in plain-log mode: a real run's
log lines, and the interval that keeps CI logs short."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from chaos.report.progress import PlainProgress, counters_text, live_counters
from tests.e2e.runner import RunOutcome

LINE = re.compile(r"^\d\d:\d\d:\d\d published (\d+|-), completed (\d+|-), lag (\d+|-)$", re.M)


@pytest.mark.e2e
def test_a_real_run_logs_its_counters(real_runs: dict[str, tuple[Path, RunOutcome]]) -> None:
    _, outcome = real_runs["passed"]
    lines = LINE.findall(outcome.output)
    assert len(lines) >= 2, outcome.output  # the load lasts 8 s; a line every 5 s
    counts = [tuple(map(int, m)) for m in lines if "-" not in m]  # "-": not sampled yet
    assert counts, outcome.output
    published = [p for p, _, _ in counts]
    assert published == sorted(published) and published[-1] > 0
    total_ok = outcome.result["load"]["counts"]["ok"]
    assert published[-1] <= total_ok
    assert all(0 <= done <= total_ok for _, done, _ in counts)
    assert counts[-1][1] > 0  # the consumers counted their completions


class _Load:
    def __init__(self, n: int) -> None:
        self.n = n

    def published(self) -> int:
        return self.n


def test_plain_progress_prints_counters_once_per_interval() -> None:
    out = io.StringIO()
    progress = PlainProgress(out, every_s=3600)
    values = live_counters({"completed": 130.0, "lag": 4.0}, _Load(120), completed_base=10.0)
    assert values == {"published": 120.0, "completed": 120.0, "lag": 4.0}
    progress.counters(values)
    progress.counters(values)  # within the interval: no second line
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith(" published 120, completed 120, lag 4")
    assert LINE.match(lines[0])
    assert counters_text(live_counters({}, None, None)) == "published -, completed -, lag -"
