"""The prometheus probe in files and runs: bad settings are a located one-line validate
error (exit 2); an endpoint that does not answer stops the run in prepare (exit 3, before
any fault); a reachable one is a steady-state check (its comparator) and a sampler column."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaos.spec.errors import SpecError
from chaos.spec.validate import check_target_file
from tests.core.core_helpers import FILES, run_cli
from tests.prom.endpoints import exporter
from tests.redisproc import free_port


def workdir(tmp_path: Path, metrics: dict[str, Any], steady: list[Any] | None = None) -> Path:
    work = tmp_path / "work"
    shutil.copytree(FILES, work)
    (work / "probe-value.txt").write_text("5")
    target = work / "targets" / "test.yaml"
    text = target.read_text()
    old = next(line for line in text.splitlines() if line.startswith("probes:"))
    probes = {"settings": {"value_file": "probe-value.txt", "prometheus": metrics}}
    target.write_text(text.replace(old, "probes:\n" + _indent(yaml.safe_dump(probes))))
    if steady is not None:
        exp = work / "experiments" / "markers.yaml"
        doc = yaml.safe_load(exp.read_text())
        doc["steady_state"] = steady
        exp.write_text(yaml.safe_dump(doc, sort_keys=False))
    return work


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.splitlines())


@pytest.mark.parametrize(
    ("metric", "field", "message"),
    [
        ({"scrape": "http://h/metrics"}, "probes.settings.prometheus.lag",
         "scrape mode needs both scrape (one URL or a list) and metric"),
        ({"labels": {"a": "b"}}, "probes.settings.prometheus.lag",
         "give either url + query (PromQL) or scrape + metric"),
        ({"url": "http://h:9090", "query": "up", "scrape": "http://h/metrics", "metric": "a"},
         "probes.settings.prometheus.lag", "give either url + query"),
        ({"scrape": "http://h/metrics", "metric": "a", "aggregate": "median"},
         "probes.settings.prometheus.lag.aggregate", "median"),
        ({"url": "http://h:9090", "query": "up", "comparator": {"criteria": "=~", "value": 1}},
         "probes.settings.prometheus.lag.comparator.criteria", "=~"),
        ({"scrape": "http://h/metrics", "metric": "a", "timeout": "fast"},
         "probes.settings.prometheus.lag.timeout", "fast"),
        ({"scrape": "http://h/metrics", "metric": "a", "querry": "up"},
         "probes.settings.prometheus.lag.querry", "did you mean 'query'"),
    ],
)
def test_bad_settings_are_one_located_problem(
    tmp_path: Path, metric: dict[str, Any], field: str, message: str
) -> None:
    work = workdir(tmp_path, {"lag": metric})
    with pytest.raises(SpecError) as caught:
        check_target_file(work / "targets" / "test.yaml")
    [problem] = caught.value.problems
    assert problem.field == field and message in problem.message, problem
    assert problem.line is not None and problem.line >= 20, problem


def test_validate_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    work = workdir(tmp_path, {"lag": {"scrape": "http://h/metrics", "metric": "a",
                                      "aggregate": "median"}})
    proc = run_cli(["validate", "targets/test.yaml"], work)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [x for x in (proc.stdout + proc.stderr).splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("targets/test.yaml:"), lines
    assert " probes.settings.prometheus.lag.aggregate: " in lines[0], lines
    assert "Traceback" not in proc.stderr


def test_an_experiment_naming_an_undefined_metric_fails_validate(tmp_path: Path) -> None:
    work = workdir(tmp_path, {"lag": {"scrape": "http://h/metrics", "metric": "a"}},
                   steady=[{"probe": "prometheus:lagg", "max": 5}])
    proc = run_cli(["validate", "experiments/markers.yaml"], work)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "steady_state[0].probe: no 'prometheus:lagg' in probes.settings.prometheus; " \
           "defined: prometheus:lag" in out, out


def test_unreachable_endpoint_exits_3_in_prepare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPECHAOS_LOCK_DIR", str(tmp_path / "locks"))
    dead = f"http://127.0.0.1:{free_port()}/metrics"
    work = workdir(tmp_path, {"lag": {"scrape": dead, "metric": "a"}})
    proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r"], work)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    result = json.loads((work / "r" / "result.json").read_text())
    assert result["status"] == "error"
    assert result["reason"].startswith(f"probe prometheus:lag: {dead}: ConnectError")
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (work / "markers").exists()  # no fault applied


def test_steady_state_comparator_sampler_column_and_abort_condition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPECHAOS_LOCK_DIR", str(tmp_path / "locks"))
    with exporter() as app:
        app.processed.inc(7)
        metrics = {"done": {"scrape": app.url, "metric": "app_processed_total",
                            "comparator": {"criteria": ">=", "value": 7}}}
        work = workdir(tmp_path, metrics, steady=[{"probe": "prometheus:done", "timeout": "1s"}])
        exp = work / "experiments" / "markers.yaml"
        doc = yaml.safe_load(exp.read_text())
        doc["abort_when"] = [{"probe": "prometheus:done", "above": 8, "for": "0.3s"}]
        exp.write_text(yaml.safe_dump(doc, sort_keys=False))

        def bump() -> None:  # once the fault phase runs, the metric crosses the abort bound
            while not (work / "markers").exists():
                time.sleep(0.05)
            app.processed.inc(2)

        threading.Thread(target=bump, daemon=True).start()
        proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r"], work)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        result = json.loads((work / "r" / "result.json").read_text())
        before = result["steady_state"]["before"][0]
        assert (before["probe"], before["ok"], before["value"], before["bounds"]) == (
            "prometheus:done", True, 7.0, ">= 7")
        assert result["status"] == "aborted", result["reason"]
        assert result["reason"].startswith("abort condition: prometheus:done = 9, above 8"), (
            result["reason"])
        rows = [json.loads(r) for r in
                (work / "r" / "timeseries.jsonl").read_text().splitlines()[1:]]
        assert {r["prometheus:done"] for r in rows} == {7.0, 9.0}


def test_a_comparator_not_met_is_not_steady_and_bounds_in_the_entry_replace_it() -> None:
    from chaos.probes.conditions import steady
    from chaos.probes.prometheus import Comparator
    from chaos.spec.models import ProbeCheck

    above = Comparator(criteria=">", value=7)
    own = [ProbeCheck("prometheus:done", timeout=0.0)]
    [r] = steady(own, lambda name: 7.0, comparator=lambda name: above)
    assert (r["ok"], r["bounds"]) == (False, "> 7")
    bounded = [ProbeCheck("prometheus:done", max=7, timeout=0.0)]
    [r] = steady(bounded, lambda name: 7.0, comparator=lambda name: above)
    assert (r["ok"], r["bounds"]) == (True, "max 7")
