"""Blame: an offender's fault is chosen by the pods that handled it (pod, then hop), and
by time only when nothing better is known; the observations and journal carry what it needs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import orjson
import pytest

from chaos.checks.blame import candidates, proxy_touches, replica
from chaos.checks.journal_file import read_phases
from chaos.checks.model import FaultWindow, HandledBy, Phases, Timeseries, Verdict
from chaos.checks.observations_file import ObservationsError, read_observations
from chaos.checks.saga import CHECK as SAGA
from tests.checks.builders import T0, S, Scenario, at, default_phases, observations_json

LATENCY = FaultWindow("f0.0", "network.latency", at(12), at(19),
                      proxies=("consumer-inventory",))
PAUSE = FaultWindow("f1.0", "pod.pause", at(14), at(17), pods=("consumer-1-aa",))
PARTITION = FaultWindow("f2.0", "network.partition", at(15), at(16),
                        proxies=("consumer-2-broker",))


def test_pod_names_and_proxies() -> None:
    assert replica("consumer-1-bdf9") == ("consumer", 1)
    assert replica("order-consumer-12") == ("order-consumer", 12)
    assert replica("consumer-5d8f7c-x2x4z") is None  # a Deployment's name: no index
    assert proxy_touches("consumer-1-broker", "consumer-1-bdf9")
    assert not proxy_touches("consumer-2-broker", "consumer-1-bdf9")
    assert proxy_touches("consumer-inventory", "consumer-1-bdf9")  # shared by every replica
    assert not proxy_touches("producer-broker", "consumer-1-bdf9")
    assert not proxy_touches("consumer-inventory", "consumer-5d8f7c-x2x4z")


def test_rules_in_order() -> None:
    faults = [LATENCY, PAUSE, PARTITION]
    assert candidates(faults, {"consumer-0-bb", "consumer-1-aa"}) == ("pod", [PAUSE])
    assert candidates(faults, {"consumer-2-cc"}) == ("hop", [LATENCY, PARTITION])
    assert candidates(faults, {"consumer-0-bb"}) == ("hop", [LATENCY])
    assert candidates(faults, {"payment-0-dd"}) == ("time", faults)
    assert candidates(faults, set()) == ("time", faults)


def zombie_run(handled_by: HandledBy | None) -> Verdict:
    """Order 7, published at 13 s (inside the latency window, before the pause), completed
    by one consumer and compensated by another: released stock of a completed saga."""
    s = Scenario(phases=Phases(default_phases().bounds, [LATENCY, PAUSE]))
    s.many(range(1, 7), t=1.0)
    s.add(7, t=13.0, effects={"inventory.release": 1})
    obs = dataclasses.replace(s.observations(), handled_by=handled_by)
    verdict: Verdict = SAGA(s.history(), obs, Timeseries(np.zeros(0, np.int64), {}), s.phases, {})
    assert not verdict.ok and [o.id for o in verdict.offenders] == [7]
    return verdict


def handled(rows: list[tuple[int, str]]) -> HandledBy:
    pods = sorted({p for _, p in rows})
    rows = sorted(rows)
    return HandledBy(np.array([o for o, _ in rows], dtype=np.int64),
                     np.array([pods.index(p) for _, p in rows], dtype=np.int64), pods)


@pytest.mark.parametrize(("rows", "fault", "rule"), [
    ([(7, "consumer-0-bb"), (7, "consumer-1-aa")], "f1.0", "pod"),  # the paused one ran it
    ([(7, "consumer-0-bb")], "f0.0", "hop"),  # only the slow shared hop touched it
    ([(6, "consumer-1-aa")], "f0.0", "time"),  # nothing known about order 7
])
def test_zombie_offender_blame(rows: list[tuple[int, str]], fault: str, rule: str) -> None:
    (offender,) = zombie_run(handled(rows)).offenders
    assert (offender.fault, offender.blame) == (fault, rule)
    assert zombie_run(handled(rows)).to_json()["offenders"]["sample"][0]["blame"] == rule


def test_without_handlers_blame_is_time() -> None:
    (offender,) = zombie_run(None).offenders
    assert (offender.fault, offender.blame) == ("f0.0", "time")


def obs_doc(rows: list[tuple[int, str]]) -> dict[str, object]:
    s = Scenario()
    s.many(range(1, 3001))
    doc: dict[str, object] = orjson.loads(observations_json(s.observations()))
    h = handled(rows)
    doc["handled_by"] = {"pods": h.pods, "order_id": h.order_id.tolist(),
                         "pod": h.pod.tolist()}
    return doc


@pytest.mark.parametrize("n", [3, 3000])  # 3000 rows: the numpy fast path of the reader
def test_handled_by_round_trip(tmp_path: Path, n: int) -> None:
    rows = [(i, f"consumer-{i % 3}-ab") for i in range(1, n + 1)] + [(2, "consumer-9-zz")]
    path = tmp_path / "observations.json"
    path.write_bytes(orjson.dumps(obs_doc(rows)))
    got = read_observations(path).handled_by
    assert got is not None and len(got.order_id) == n + 1
    assert got.of(2) == {"consumer-2-ab", "consumer-9-zz"} and got.of(n + 5) == set()


def test_handled_by_optional_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "observations.json"
    doc = obs_doc([(1, "consumer-0-ab")])
    doc.pop("handled_by")
    path.write_bytes(orjson.dumps(doc))
    assert read_observations(path).handled_by is None
    for broken, message in [
        ({"pods": ["a"], "order_id": [2, 1], "pod": [0, 0]}, "must be sorted"),
        ({"pods": ["a"], "order_id": [1], "pod": [3]}, "index out of range"),
        ({"pods": [1], "order_id": [], "pod": []}, "list of pod names"),
        ({"pods": ["a"], "order_id": [1, 2], "pod": [0]}, "differ in length"),
        ([], "must be an object"),
    ]:
        doc["handled_by"] = broken
        path.write_bytes(orjson.dumps(doc))
        with pytest.raises(ObservationsError, match=message) as info:
            read_observations(path)
        assert "observations.json: handled_by" in str(info.value)


def test_journal_windows_name_pods_and_proxies(tmp_path: Path) -> None:
    t = lambda s: T0 + int(s * S)  # noqa: E731
    entries = [
        {"t": t(0), "event": "phase", "phase": "baseline", "edge": "start"},
        {"t": t(1), "event": "action", "id": "f0.0.0", "occurrence": "f0.0",
         "fault": "network.latency", "state": "applying",
         "record": {"proxy": "consumer-inventory", "toxics": []}},
        {"t": t(2), "event": "action", "id": "f1.0.0", "occurrence": "f1.0",
         "fault": "pod.pause", "state": "applying",
         "record": {"pod": "consumer-1-bdf9", "component": "consumer", "index": 1}},
        {"t": t(2.1), "event": "action", "id": "f1.0.0", "state": "applied"},  # no record
        {"t": t(5), "event": "action", "id": "f1.0.0", "state": "reverted"},
        {"t": t(6), "event": "action", "id": "f0.0.0", "state": "reverted"},
    ]
    (tmp_path / "journal.jsonl").write_text("\n".join(json.dumps({"v": 1, **e})
                                                      for e in entries))
    latency, pause = read_phases(tmp_path).faults
    assert (latency.proxies, latency.pods) == (("consumer-inventory",), ())
    assert (pause.pods, pause.proxies) == (("consumer-1-bdf9",), ())
