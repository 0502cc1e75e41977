"""Loaders: observations.json, timeseries.jsonl and journal.jsonl (+ plan.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import orjson
import pytest

from chaos.checks.journal_file import JournalError, read_phases
from chaos.checks.observations_file import ObservationsError, read_observations
from chaos.checks.timeseries_file import TimeseriesError, read_timeseries
from tests.checks.builders import T0, S, Scenario, observations_json, write_timeseries


def scenario(n: int) -> Scenario:
    s = Scenario()
    s.many(range(1, n + 1))
    s.add(n + 1, outcome="compensated", steps_applied=2)
    s.add(n + 2, poison=True, outcome="dead_lettered", dead_letters=[(5, "bad [json] \"x\"")])
    return s


@pytest.mark.parametrize("n", [3, 5000])  # 5000 orders take the numpy fast path
def test_observations_round_trip(tmp_path: Path, n: int) -> None:
    expected = scenario(n).observations()
    path = tmp_path / "observations.json"
    path.write_bytes(observations_json(expected))
    got = read_observations(path)
    for col in ("order_id", "outcome", "t_terminal", "redeliveries", "value", "qty", "points"):
        assert np.array_equal(getattr(got, col), getattr(expected, col)), col
    assert got.outcome.dtype == np.int8
    assert set(got.effects) == set(expected.effects)
    for name, (ids, counts) in expected.effects.items():
        assert np.array_equal(got.effects[name][0], ids)
        assert np.array_equal(got.effects[name][1], counts)
    assert got.saga == expected.saga
    assert got.dead_letters.reason == ['bad [json] "x"']
    assert got.totals == expected.totals and got.settings == {"max_attempts": 5}


def test_pretty_printed_big_arrays(tmp_path: Path) -> None:
    doc = orjson.loads(observations_json(scenario(3000).observations()))
    path = tmp_path / "observations.json"
    path.write_text(json.dumps(doc, indent=2))
    assert len(read_observations(path).order_id) == 3002


def bad(tmp_path: Path, mutate: object) -> str:
    doc = orjson.loads(observations_json(scenario(3).observations()))
    assert callable(mutate)
    mutate(doc)
    path = tmp_path / "observations.json"
    path.write_bytes(orjson.dumps(doc))
    with pytest.raises(ObservationsError) as info:
        read_observations(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_observations_errors(tmp_path: Path) -> None:
    assert "not a pipechaos.observations file" in bad(tmp_path, lambda d: d.update(format="x"))
    assert "version 3 is not supported" in bad(tmp_path, lambda d: d.update(version=3))
    assert "sorted and unique" in bad(
        tmp_path, lambda d: d["orders"].update(order_id=[3, 2, 1, 4, 5])
    )
    assert "orders.qty: length differs" in bad(tmp_path, lambda d: d["orders"].update(qty=[1]))
    assert "orders.outcome: codes must be 0..3" in bad(
        tmp_path, lambda d: d["orders"].update(outcome=[1, 1, 9, 1, 1])
    )
    assert "orders.value: must be an array of integers" in bad(
        tmp_path, lambda d: d["orders"].update(value=[1, "a", 1, 1, 1])
    )
    assert "saga names effect 'x.y'" in bad(tmp_path, lambda d: d["saga"].append(["x.y", "x.z"]))
    assert "effects: missing" in bad(tmp_path, lambda d: d.pop("effects"))
    assert "dead_letters: arrays differ" in bad(
        tmp_path, lambda d: d["dead_letters"].update(reason=[])
    )


def test_observations_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "observations.json"
    path.write_text('{"format": "pipechaos.observations", "version": 1, ')
    with pytest.raises(ObservationsError, match="not valid JSON"):
        read_observations(path)
    with pytest.raises(ObservationsError, match="cannot read"):
        read_observations(tmp_path / "nope.json")
    path.write_text('{"orders": {"order_id": [' + "1," * 3000 + '"x"]}}')
    with pytest.raises(ObservationsError):
        read_observations(path)


def test_timeseries(tmp_path: Path) -> None:
    path = tmp_path / "timeseries.jsonl"
    write_timeseries(path, [
        {"t": T0 + S, "lag": 4, "pending": None, "completion_rate": 99.5},
        {"t": T0, "lag": 1, "pending": 2, "completion_rate": 100.0, "extra": True},
    ])
    with path.open("ab") as f:
        f.write(b'{"t": 18000')  # torn last line
    ts = read_timeseries(path)
    assert ts.t.tolist() == [T0, T0 + S]  # sorted by time
    assert ts.columns["lag"].tolist() == [1.0, 4.0]
    assert ts.columns["pending"][0] == 2.0 and np.isnan(ts.columns["pending"][1])
    assert np.isnan(ts.columns["extra"]).all()


def test_timeseries_errors(tmp_path: Path) -> None:
    path = tmp_path / "timeseries.jsonl"
    path.write_text('{"t": 1, "lag": 2}\n')
    with pytest.raises(TimeseriesError, match=r"not a pipechaos\.timeseries header"):
        read_timeseries(path)
    path.write_text('{"format": "pipechaos.timeseries", "version": 1}\nnope\n{"t": 1}\n')
    with pytest.raises(TimeseriesError, match=r"timeseries.jsonl:2: not valid JSON"):
        read_timeseries(path)
    path.write_text('{"format": "pipechaos.timeseries", "version": 1}\n{"lag": 1}\n')
    with pytest.raises(TimeseriesError, match="integer t"):
        read_timeseries(path)
    path.write_text("")
    with pytest.raises(TimeseriesError, match="empty"):
        read_timeseries(path)


def journal(run_dir: Path, entries: list[dict[str, object]]) -> None:
    lines = [json.dumps({"v": 1, **e}) for e in entries]
    (run_dir / "journal.jsonl").write_text("\n".join(lines) + "\n{\"v\": 1, \"t\"")


def test_phases_and_fault_windows(tmp_path: Path) -> None:
    plan = {"format": "pipechaos.plan", "version": 1, "occurrences": [
        {"id": "f0.0", "fault": 0, "type": "pod.kill", "at_s": 2.0, "until_s": None},
        {"id": "f1.0", "fault": 1, "type": "network.partition", "at_s": 5.0, "until_s": 8.0},
    ]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    t = lambda s: T0 + int(s * S)  # noqa: E731
    journal(tmp_path, [
        {"t": t(-1), "event": "run_start", "run_id": "r"},
        {"t": t(-1), "event": "phase", "phase": "prepare", "edge": "start"},
        {"t": t(-0.5), "event": "phase", "phase": "prepare", "edge": "end"},
        {"t": t(0.01), "event": "t0", "t0": t(0)},
        {"t": t(0.01), "event": "phase", "phase": "baseline", "edge": "start"},
        {"t": t(2), "event": "phase", "phase": "baseline", "edge": "end"},
        {"t": t(2), "event": "phase", "phase": "fault", "edge": "start"},
        {"t": t(2), "event": "action", "id": "f0.0.0", "occurrence": "f0.0", "fault": "pod.kill",
         "state": "applying", "record": {}},
        {"t": t(2.1), "event": "action", "id": "f0.0.0", "state": "applied"},
        {"t": t(2.3), "event": "action", "id": "f0.0.0", "state": "verified"},
        {"t": t(5), "event": "action", "id": "f1.0.0", "occurrence": "f1.0",
         "fault": "network.partition", "state": "applying", "record": {}},
        {"t": t(5.2), "event": "action", "id": "f1.0.1", "occurrence": "f1.0",
         "fault": "network.partition", "state": "applying", "record": {}},
        {"t": t(8), "event": "action", "id": "f1.0.0", "state": "reverted"},
        {"t": t(8.1), "event": "action", "id": "f1.0.1", "state": "reverted"},
        {"t": t(8.1), "event": "phase", "phase": "fault", "edge": "end"},
        {"t": t(8.1), "event": "phase", "phase": "recovery", "edge": "start"},
        {"t": t(12), "event": "phase", "phase": "drain", "edge": "start"},  # recovery end lost
        {"t": t(13), "event": "action", "id": "f0.0.0", "state": "reverted"},  # cleanup
        {"t": t(14), "event": "run_end", "status": "passed"},
    ])
    ph = read_phases(tmp_path)
    assert list(ph.bounds) == ["prepare", "baseline", "fault", "recovery", "drain"]
    assert ph.bounds["baseline"] == (t(0), t(2))  # from t0, not from the journaled edge
    assert ph.bounds["recovery"] == (t(8.1), t(12))
    assert ph.bounds["drain"] == (t(12), t(14))
    kill, part = ph.faults
    assert (kill.id, kill.type, kill.start, kill.end) == ("f0.0", "pod.kill", t(2), t(2.3))
    assert (part.id, part.type, part.start, part.end) == ("f1.0", "network.partition", t(5),
                                                          t(8.1))
    assert ph.phase_of(t(6)) == "fault"


def test_phases_without_plan_and_unreverted(tmp_path: Path) -> None:
    journal(tmp_path, [
        {"t": 10, "event": "action", "id": "a", "occurrence": "f0.0", "fault": "x.y",
         "state": "applying"},
        {"t": 50, "event": "abort", "reason": "lag"},
    ])
    ph = read_phases(tmp_path)
    assert ph.bounds == {}
    assert [(w.id, w.type, w.start, w.end) for w in ph.faults] == [("f0.0", "x.y", 10, 50)]
    with pytest.raises(JournalError, match=r"journal\.jsonl: missing"):
        read_phases(tmp_path / "nope")
