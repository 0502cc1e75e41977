"""`pipechaos run --pushgateway URL` end to end with the test plugins: the run's metrics read
back from Debian's real Pushgateway; an unreachable one changes neither the result nor the
exit code; a bad URL is refused before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.redisproc import free_port
from tests.report.gateway import key, read_back, running_gateway

from .core_helpers import run_cli


def test_a_run_pushes_its_status_and_duration(work: Path, tmp_path: Path) -> None:
    with running_gateway(tmp_path / "gw") as url:
        proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r",
                        "--pushgateway", url], work)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "warning" not in proc.stderr
        got = read_back(url)
    result = json.loads((work / "r" / "result.json").read_text())
    g = {"job": "pipechaos", "experiment": "markers"}
    assert result["status"] == "passed"
    assert got[key("pipechaos_run_status", status="passed", **g)] == 1
    assert got[key("pipechaos_run_status", status="failed", **g)] == 0
    assert 2.5 <= got[key("pipechaos_run_duration_seconds", **g)] < 60
    for v in result["verdicts"]:
        assert got[key("pipechaos_verdict_ok", invariant=v["name"], **g)] == float(v["ok"])


def test_an_unreachable_gateway_changes_nothing(work: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r", "--json",
                    "--pushgateway", url], work)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)  # stdout stays pure JSON
    assert printed["status"] == "passed"
    assert json.loads((work / "r" / "result.json").read_text())["status"] == "passed"
    warnings = [ln for ln in proc.stderr.splitlines() if "could not push" in ln]
    assert len(warnings) == 1 and url in warnings[0]


def test_a_bad_url_exits_2_before_anything_runs(work: Path) -> None:
    proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r",
                    "--pushgateway", "gateway:9091"], work)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.startswith("pipechaos: --pushgateway: ")
    assert len(proc.stderr.strip().splitlines()) == 1 and not (work / "r").exists()
