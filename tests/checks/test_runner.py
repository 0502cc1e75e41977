"""The runner over a real run directory: files written by the same writers the layers use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chaos.checks.runner import load_run, run_checks
from chaos.load.history import HistoryWriter
from chaos.spec.models import InvariantSpec
from chaos.spec.structs import decode
from tests.checks.builders import T0, S, Scenario, observations_json, write_timeseries

ALL = ["delivery", "effects", "saga", "dlq", "latency", "recovery"]


def at(s: float) -> int:
    return T0 + int(s * S)


def write_run(run_dir: Path, scenario: Scenario) -> None:
    h = scenario.history()
    half = len(h.order_id) // 2
    for k, part in enumerate((slice(0, half), slice(half, None))):  # two load processes
        with HistoryWriter(run_dir / "history" / f"load-{k}.pch", run_id="r", process=f"load-{k}"
                           ) as w:
            w.write_arrays(h.order_id[part], h.outcome[part], h.t_invoke[part], h.t_done[part],
                           h.poison[part])
    (run_dir / "observations.json").write_bytes(observations_json(scenario.observations()))
    write_timeseries(run_dir / "timeseries.jsonl", [
        {"t": at(x / 2), "lag": 300 if 24 <= x < 40 else 2, "pending": 1,
         "completion_rate": 50.0, "pods_ready": 3, "dlq_length": None}
        for x in range(80)
    ])
    plan = {"occurrences": [{"id": "f0.0", "type": "pod.kill", "until_s": None}]}
    (run_dir / "plan.json").write_text(json.dumps(plan))
    events = [
        (0, {"event": "phase", "phase": "baseline", "edge": "start"}),
        (12, {"event": "phase", "phase": "baseline", "edge": "end"}),
        (12, {"event": "phase", "phase": "fault", "edge": "start"}),
        (12, {"event": "action", "id": "f0.0.0", "occurrence": "f0.0", "state": "applying"}),
        (12.4, {"event": "action", "id": "f0.0.0", "state": "verified"}),
        (15, {"event": "phase", "phase": "fault", "edge": "end"}),
        (15, {"event": "phase", "phase": "recovery", "edge": "start"}),
        (30, {"event": "phase", "phase": "recovery", "edge": "end"}),
        (30, {"event": "phase", "phase": "drain", "edge": "start"}),
        (40, {"event": "phase", "phase": "drain", "edge": "end"}),
    ]
    (run_dir / "journal.jsonl").write_text(
        "".join(json.dumps({"v": 1, "t": at(t), **e}) + "\n" for t, e in events)
    )


def healthy() -> Scenario:
    s = Scenario()
    s.many(range(1, 200), t=1.0)
    s.many(range(200, 260), t=13.0, took=0.3, redeliveries=1)
    s.add(260, t=14.0, outcome="compensated", steps_applied=2)
    s.many(range(261, 264), t=20.0, poison=True, outcome="dead_lettered")
    s.many(range(264, 270), t=13.0, publish="info", outcome=None)
    return s


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    write_run(tmp_path, healthy())
    return tmp_path


def specs(*items: str | dict[str, object]) -> list[InvariantSpec]:
    return [decode(InvariantSpec, i) for i in items]


def test_healthy_run_passes_every_check(run_dir: Path) -> None:
    verdicts = run_checks(run_dir, specs(*ALL))
    assert [v.name for v in verdicts] == ALL
    assert all(v.ok for v in verdicts), [(v.name, v.summary) for v in verdicts]
    delivery = verdicts[0].metrics
    assert delivery["ok"] == 263 and delivery["info"] == 6 and delivery["redelivered"] == 60
    assert verdicts[5].metrics["recovery_s"] == 7.6  # heal at 12.4 s, lag low from 20 s
    json.dumps([v.to_json() for v in verdicts])  # JSON-serialisable as result.json needs


def test_lost_message_is_pinned_on_the_kill(tmp_path: Path) -> None:
    s = healthy()
    s.add(300, t=12.8, outcome="none")
    write_run(tmp_path, s)
    (v,) = run_checks(tmp_path, specs("delivery"))
    assert not v.ok
    assert v.to_json()["offenders"] == {
        "total": 1,
        "sample": [{"id": 300, "phase": "fault", "fault": "f0.0", "blame": "time"}],
    }


def test_named_invariants_and_only(run_dir: Path) -> None:
    invs = specs("delivery", {"check": "latency", "name": "p99-fault", "p99": "1ms",
                              "phase": "fault"}, {"check": "latency", "p99": "2s"})
    names = [(v.name, v.ok) for v in run_checks(run_dir, invs)]
    assert names == [("delivery", True), ("p99-fault", False), ("latency", True)]
    (only,) = run_checks(run_dir, invs, only="p99-fault")
    assert only.name == "p99-fault" and not only.ok
    assert [v.name for v in run_checks(run_dir, invs, only="latency")] == ["p99-fault", "latency"]
    (dlq,) = run_checks(run_dir, invs, only="dlq")  # not listed: default parameters
    assert dlq.ok


def test_missing_inputs_fail_only_the_checks_that_need_them(run_dir: Path) -> None:
    (run_dir / "observations.json").unlink()
    (run_dir / "timeseries.jsonl").write_text("garbage\n")
    verdicts = {v.name: v for v in run_checks(run_dir, specs(*ALL))}
    assert not verdicts["delivery"].ok
    assert verdicts["delivery"].summary == (
        f"cannot check: observations.json is missing from {run_dir}"
    )
    assert verdicts["recovery"].summary.startswith("cannot check: timeseries.jsonl: ")
    assert "\n" not in verdicts["recovery"].summary


def test_corrupt_history_and_missing_journal(run_dir: Path) -> None:
    (run_dir / "history" / "load-0.pch").write_bytes(b"not a history")
    (run_dir / "journal.jsonl").unlink()
    verdicts = {v.name: v for v in run_checks(run_dir, specs(*ALL))}
    assert verdicts["delivery"].summary.startswith("cannot check: ")
    assert verdicts["delivery"].summary == (
        "cannot check: history: load-0.pch: too short to be a pipechaos history file"
    )
    assert verdicts["latency"].summary.endswith("history file; journal.jsonl: missing")
    assert not any(v.ok for v in verdicts.values())


def test_missing_journal_only_loses_labels_for_delivery(run_dir: Path) -> None:
    (run_dir / "journal.jsonl").unlink()
    delivery, latency = run_checks(run_dir, specs("delivery", "latency"))
    assert delivery.ok and not latency.ok


def test_unknown_check_and_bad_params_are_failed_verdicts(run_dir: Path) -> None:
    v1, v2 = run_checks(run_dir, specs("deliverry", {"check": "latency", "p99": "fast"}))
    assert not v1.ok and "unknown check 'deliverry'" in v1.summary
    assert "did you mean 'delivery'" in v1.summary
    assert not v2.ok and v2.summary.startswith("invalid parameters: p99: must be a duration")


def test_load_run_reports_problems(tmp_path: Path) -> None:
    data = load_run(tmp_path / "absent")
    assert set(data.problems) == {"history", "observations", "timeseries", "phases"}
    assert all("does not exist" in p for p in data.problems.values())
    assert len(data.history.order_id) == 0 and np.size(data.timeseries.t) == 0
