"""The trend page over many run directories: real passed, failed and could-not-run runs,
a corrupt and a partial directory (listed, never fatal); counts as in result.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import html

from chaos.cli import main
from chaos.report.trend import render_trend
from tests.e2e.runner import RunOutcome

OUTCOME = {"passed": "pass", "failed": "fail", "not_steady": "skipped"}


def _rows(page: Any) -> dict[str, Any]:
    return {r.get("data-run"): r for r in page.xpath("//tr[contains(@class, 'run')]")}


@pytest.mark.e2e
def test_trend_over_real_runs(real_runs: dict[str, tuple[Path, RunOutcome]],
                              tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "runs"
    root.mkdir()
    for kind, (run_dir, _) in real_runs.items():
        (root / kind).symlink_to(run_dir, target_is_directory=True)
    (root / "corrupt").mkdir()
    (root / "corrupt" / "result.json").write_text('{"format": "pipechaos.res')
    (root / "partial").mkdir()
    (root / "partial" / "journal.jsonl").write_text("")
    assert main(["report", str(root), "--trend"]) == 0
    assert capsys.readouterr().out.strip() == str(root / "trend.html")
    page = html.fromstring((root / "trend.html").read_bytes())
    rows = _rows(page)
    assert set(rows) == set(real_runs)
    for kind, (run_dir, _) in real_runs.items():
        result = json.loads((run_dir / "result.json").read_text())
        row = rows[kind]
        assert row.get("data-outcome") == OUTCOME[result["status"]]
        lost = next((v["metrics"]["lost"] for v in result["verdicts"] if "lost" in v["metrics"]),
                    None)
        dups = next((v["metrics"]["duplicated_orders"] for v in result["verdicts"]
                     if "duplicated_orders" in v["metrics"]), None)
        assert row.get("data-lost") == ("-" if lost is None else str(lost))
        assert row.get("data-duplicates") == ("-" if dups is None else str(dups))
    assert int(rows["failed"].get("data-lost")) > 0  # the negative control lost orders
    bad = {li.get("data-run") for li in page.xpath("//li[@class='unreadable']")}
    assert bad == {"corrupt", "partial"}


def test_trend_columns_from_latency_and_recovery_verdicts(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for k, (p99, rec) in enumerate([(40.0, 1.5), (90.0, 2.25), (None, None)]):
        d = root / f"r{k}"
        d.mkdir(parents=True)
        verdicts: list[dict[str, Any]] = [
            {"name": "p99-fault", "ok": True, "metrics": {"phases": {
                "baseline": {"p99_ms": 20.0}, "fault": {"p99_ms": p99}}}},
            {"name": "recovery", "ok": True, "metrics": {"recovery_s": rec}},
        ] if p99 else []
        (d / "result.json").write_text(json.dumps({
            "format": "pipechaos.result", "status": "passed" if p99 else "error",
            "experiment": "e", "phases": {"prepare": {"start": (10 - k) * 10**18}},
            "verdicts": verdicts}))
    page = html.fromstring(render_trend(root))
    rows = page.xpath("//tr[contains(@class, 'run')]")
    assert [r.get("data-run") for r in rows] == ["r2", "r1", "r0"]  # oldest first
    texts = [r.text_content() for r in rows]
    assert "90.0 ms vs 20.0 ms (4.5x)" in texts[1] and "2.25 s" in texts[1]
    assert "40.0 ms vs 20.0 ms (2.0x)" in texts[2] and "1.50 s" in texts[2]
    assert rows[0].get("data-outcome") == "skipped"
    assert "1 skipped" in page.xpath("//p[@class='strip']")[0].text_content()
