"""Pushgateway metrics: the pure samples of a result.json, and a push to Debian's real
`prometheus-pushgateway` read back from its /metrics. A run's CLI path is in
tests/core/test_pushgateway_run.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chaos.report.pushgateway import PushgatewayUrlError, check_url, push, push_or_warn
from chaos.report.pushmetrics import STATUSES, Sample, samples
from tests.redisproc import free_port

from .gateway import key, read_back, running_gateway

S = 1_000_000_000


def result(status: str = "failed", **extra: Any) -> dict[str, Any]:
    """A hand-made result.json of a run of `consumer-kill` with a renamed delivery invariant."""
    return {
        "format": "pipechaos.result", "version": 1, "status": status, "exit_code": 1,
        "run_id": "consumer-kill-x", "experiment": "consumer-kill", "target": "t", "seed": 1,
        "phases": {"prepare": {"start": 10 * S, "end": 12 * S},
                   "baseline": {"start": 12 * S, "end": 20 * S},
                   "report": {"start": 41 * S, "end": 42_500_000_000}},
        "verdicts": [
            {"name": "no-loss", "ok": False, "metrics": {"lost": 3, "phantom": 0}},
            {"name": "effects", "ok": False,
             "metrics": {"duplicated_orders": 2, "effects": {"a": {"duplicated": 2}}}},
            {"name": "latency", "ok": True, "metrics": {"p99_ms": 12.5}},
        ],
        **extra,
    }  # fmt: skip


def by_key(items: list[Sample]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value for s in items}


def test_samples_of_a_failed_run() -> None:
    got = by_key(samples(result()))
    exp = {"experiment": "consumer-kill"}
    assert got[key("pipechaos_verdict_ok", invariant="no-loss", **exp)] == 0
    assert got[key("pipechaos_verdict_ok", invariant="effects", **exp)] == 0
    assert got[key("pipechaos_verdict_ok", invariant="latency", **exp)] == 1
    assert got[key("pipechaos_run_duration_seconds", **exp)] == 32.5
    assert got[key("pipechaos_lost", **exp)] == 3  # found by its metric, whatever the name
    assert got[key("pipechaos_duplicates", **exp)] == 2
    status = {s: v for (n, labels), v in got.items() if n == "pipechaos_run_status"
              for k, s in labels if k == "status"}  # fmt: skip
    assert status == {s: float(s == "failed") for s in STATUSES}


def test_a_skipped_run_pushes_its_status_and_no_made_up_counts() -> None:
    got = by_key(samples(result("skipped", phases={}, verdicts=[])))
    names = {n for n, _ in got}
    assert names == {"pipechaos_run_duration_seconds", "pipechaos_run_status"}
    assert got[key("pipechaos_run_duration_seconds", experiment="consumer-kill")] == 0
    assert got[key("pipechaos_run_status", experiment="consumer-kill", status="skipped")] == 1


@pytest.mark.parametrize("url", ["127.0.0.1:9091", "ftp://h:1", "http://", "http://h:99999",
                                 "http://h:9091/?x=1", "not a url"])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(PushgatewayUrlError):
        check_url(url)
    assert check_url("https://gw.monitoring.svc:9091/prefix") == "https://gw.monitoring.svc:9091/prefix"


def test_pushed_metrics_read_back_from_the_real_gateway(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "result.json").write_text(json.dumps(result()))
    with running_gateway(tmp_path / "gw") as url:
        push(url, json.loads((run_dir / "result.json").read_text()))
        got = read_back(url)
        g = {"job": "pipechaos", "experiment": "consumer-kill"}
        assert got[key("pipechaos_verdict_ok", invariant="no-loss", **g)] == 0
        assert got[key("pipechaos_verdict_ok", invariant="latency", **g)] == 1
        assert got[key("pipechaos_run_duration_seconds", **g)] == 32.5
        assert got[key("pipechaos_lost", **g)] == 3
        assert got[key("pipechaos_duplicates", **g)] == 2
        assert got[key("pipechaos_run_status", status="failed", **g)] == 1
        assert got[key("pipechaos_run_status", status="passed", **g)] == 0
        # the next run of the experiment replaces its group: no stale invariant or count
        push(url, result("passed", verdicts=[{"name": "latency", "ok": True, "metrics": {}}]))
        got = read_back(url)
        assert got[key("pipechaos_run_status", status="passed", **g)] == 1
        assert {n for n, labels in got if ("invariant", "no-loss") in labels} == set()
        assert not [n for n, _ in got if n in ("pipechaos_lost", "pipechaos_duplicates")]


def test_an_unreachable_gateway_is_one_warning_line() -> None:
    lines: list[str] = []
    assert not push_or_warn(f"http://127.0.0.1:{free_port()}", result(), lines.append)
    assert len(lines) == 1 and lines[0].count("\n") == 1
    assert lines[0].startswith("pipechaos: warning: could not push metrics to http://127.0.0.1:")
