"""A run whose `sql` observer cannot read its database stops in prepare: status error,
exit 3, one line naming the observer and the cause, and no fault applied."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chaos.platforms.ports import free_port
from tests.core.core_helpers import FILES, run_cli


def test_unreachable_database_exits_3_before_any_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = tmp_path / "work"
    shutil.copytree(FILES, work)
    (work / "probe-value.txt").write_text("5")
    monkeypatch.setenv("PIPECHAOS_LOCK_DIR", str(tmp_path / "locks"))
    target = work / "targets" / "test.yaml"
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    queries = {"orders": "SELECT 1", "effects": "SELECT 1", "dead_letters": "SELECT 1"}
    observer = json.dumps({"type": "sql", "settings": {"url": url, "queries": queries}})
    text = target.read_text()
    old = next(line for line in text.splitlines() if line.startswith("observer:"))
    target.write_text(text.replace(old, f"observer: {observer}"))
    proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r"], work)
    assert proc.returncode == 3, proc.stderr
    result = json.loads((work / "r" / "result.json").read_text())
    assert result["status"] == "error"
    assert result["reason"].startswith("observer sql: sql observer cannot reach "
                                       "postgresql+psycopg://postgres@127.0.0.1:")
    assert "Traceback" not in proc.stderr + proc.stdout
    events = [json.loads(x) for x in (work / "r" / "journal.jsonl").read_text().splitlines()]
    assert {e["phase"] for e in events if e["event"] == "phase"} == {"prepare"}
    assert not (work / "markers").exists()  # the marker fault would have written here
