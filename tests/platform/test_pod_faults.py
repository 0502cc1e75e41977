"""pod.kill, pod.pause, pod.crash and the pods_ready probe against real local pods."""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from chaos.faults.base import FaultEnv, FaultNotEffective
from chaos.faults.pod import CRASH, KILL, PAUSE, choose
from chaos.platforms.base import Pod
from chaos.platforms.local import LocalPlatform
from chaos.probes.base import ProbeEnv, ProbeError
from chaos.probes.pods import PODS_READY
from chaos.spec.models import TargetSpec
from chaos.spec.structs import ValidationError, decode
from tests.platform.conftest import alive, component, proc_state, target

Start = Callable[..., LocalPlatform]


def spec() -> TargetSpec:
    return target(component("broker", labels={"app": "broker", "tier": "data"}),
                  component("consumer", replicas=3))


def env(platform: LocalPlatform, seed: int = 1, duration: float | None = None) -> FaultEnv:
    return FaultEnv(target=platform.target, platform=platform, rng=random.Random(seed),
                    run_dir=platform.run_dir, duration_s=duration)


def ready(platform: LocalPlatform) -> float:
    return PODS_READY.measure(ProbeEnv(platform.target, platform, {}))


def test_validate_selectors_modes_and_ports() -> None:
    t = spec()
    ok = decode(KILL.Params, {"selector": {"app": "consumer"}, "mode": "fixed", "value": 2})
    assert KILL.validate(ok, t) == []
    assert KILL.validate(decode(KILL.Params, {"selector": {"component": "broker"}}), t) == []
    bad = decode(KILL.Params, {"selector": {"app": "nope"}})
    (error,) = KILL.validate(bad, t)
    assert error.startswith("selector: {app: nope} matches no component of target")
    for params, message in [
        ({"selector": {"app": "c"}, "mode": "fixed"}, "value: required with mode fixed"),
        ({"selector": {"app": "c"}, "mode": "percent", "value": 150}, "0 < value <= 100"),
        ({"selector": {"app": "c"}, "mode": "one", "value": 2}, "only with mode fixed"),
        ({"selector": {"app": "c"}, "signal": "HUP"}, "signal"),
        ({"selector": {"app": "c"}, "grace": 5}, "duration"),
        ({"selector": {"app": "c"}, "colour": "red"}, "colour"),
    ]:
        with pytest.raises(ValidationError, match=message):
            decode(KILL.Params, params)
    crash = decode(CRASH.Params,
        {"selector": {"app": "broker"}, "point": "after-ack", "port": "redis"})
    assert CRASH.validate(crash, t) == [
        "port: component 'broker' has no port 'redis' (crash points need its admin API)"]
    with pytest.raises(ValidationError, match="point"):
        decode(CRASH.Params, {"selector": {"app": "c"}, "point": "sometime"})


def test_choose_is_seeded_and_honours_modes() -> None:
    pods = [Pod(name=f"c-{i}-abcd", component="c", index=i) for i in range(10)]
    params = functools.partial(decode, KILL.Params)
    one = params({"selector": {"a": "b"}})
    backwards = list(reversed(pods))
    assert choose(pods, one, random.Random(3)) == choose(backwards, one, random.Random(3))
    assert len(choose(pods, params({"selector": {}, "mode": "all"}), random.Random(1))) == 10
    fixed = params({"selector": {}, "mode": "fixed", "value": 3})
    assert len(choose(pods, fixed, random.Random(1))) == 3
    assert len(choose(pods[:2], fixed, random.Random(1))) == 2
    assert len(choose(pods, params({"selector": {}, "mode": "percent", "value": 25}),
                      random.Random(1))) == 2
    assert len(choose(pods, params({"selector": {}, "mode": "percent", "value": 1}),
                      random.Random(1))) == 1
    picks = {choose(pods, one, random.Random(s))[0].name for s in range(40)}
    assert len(picks) > 3  # the rng decides, not the order


def test_kill_apply_verify_revert_and_probe(start: Start) -> None:
    platform = start(spec())
    assert ready(platform) == 4
    params = decode(KILL.Params, {"selector": {"app": "consumer"}, "mode": "fixed",
                                         "value": 2})
    actions = KILL.actions(params, env(platform))
    again = KILL.actions(params, env(platform))
    assert [a.record()["pod"] for a in actions] == [a.record()["pod"] for a in again]
    victims = [a.record() for a in actions]
    for action in actions:
        action.apply()
    assert ready(platform) <= 2 + 1  # both victims are down or restarting
    for action in actions:
        action.verify()
        action.revert()
        action.revert()
    assert all(not alive(v["pid"]) for v in victims)
    assert ready(platform) == 4
    names = {p.name for p in platform.pods({})}
    assert not names & {v["pod"] for v in victims}
    restored = KILL.restore(json.loads(json.dumps(victims[0])))
    restored.revert()  # no-op without a platform
    assert restored.record()["pod"] == victims[0]["pod"]


def test_index_label_picks_one_replica_slot(start: Start) -> None:
    """Every local pod carries `index` (its slot), so a rolling restart takes the slots in
    turn; a slot the component does not have is a validate error."""
    platform = start(spec())
    for slot in range(3):
        params = decode(KILL.Params, {"selector": {"app": "consumer", "index": str(slot)},
                                      "mode": "all"})
        assert KILL.validate(params, platform.target) == []
        (action,) = KILL.actions(params, env(platform))
        assert action.record()["index"] == slot
        assert action.record()["labels"]["index"] == str(slot)
    beyond = decode(KILL.Params, {"selector": {"app": "consumer", "index": "3"}})
    (error,) = KILL.validate(beyond, platform.target)
    assert error.startswith("selector:")


def test_kill_term_with_grace_on_the_broker(start: Start) -> None:
    platform = start(spec())
    params = decode(KILL.Params,
        {"selector": {"tier": "data"}, "signal": "TERM", "grace": "2s"})
    (action,) = KILL.actions(params, env(platform))
    assert "SIGTERM" in action.describe()
    action.apply()
    action.verify()
    assert platform.pods({"tier": "data"})[0].name != action.record()["pod"]


def test_kill_verify_fails_when_no_replacement(start: Start) -> None:
    platform = start(target(component("w", restart={"policy": "always", "backoff": "5s",
                                                    "max_backoff": "5s"})))
    params = decode(KILL.Params, {"selector": {"app": "w"}, "timeout": "500ms"})
    (action,) = KILL.actions(params, env(platform))
    action.apply()
    with pytest.raises(FaultNotEffective, match="no ready replacement"):
        action.verify()


def test_no_live_victim_is_a_clear_error(start: Start) -> None:
    platform = start(target(component("w")))
    params = decode(PAUSE.Params, {"selector": {"app": "other"}})
    with pytest.raises(FaultNotEffective, match="matches no live pod"):
        PAUSE.actions(params, env(platform))


def test_pause_apply_verify_revert(start: Start) -> None:
    platform = start(spec())
    params = decode(PAUSE.Params, {"selector": {"app": "consumer"}, "mode": "one"})
    (action,) = PAUSE.actions(params, env(platform, duration=1.0))
    pid = action.record()["pid"]
    with pytest.raises(FaultNotEffective, match="is not stopped"):
        action.verify()
    action.apply()
    action.verify()
    assert proc_state(pid) == "T"
    assert ready(platform) == 3
    time.sleep(0.5)
    assert action.record()["pod"] in {p.name for p in platform.pods({})}  # not restarted
    action.revert()
    action.revert()
    assert proc_state(pid) != "T" and ready(platform) == 4


def test_pause_restored_from_record_resumes_after_a_crash(start: Start) -> None:
    platform = start(spec())
    params = decode(PAUSE.Params, {"selector": {"tier": "data"}})
    (action,) = PAUSE.actions(params, env(platform))
    action.apply()
    action.verify()
    record = json.loads(json.dumps(action.record()))
    restored = PAUSE.restore(record)  # as `pipechaos rollback` would, no platform
    restored.verify()
    restored.revert()
    restored.revert()
    assert proc_state(record["pid"]) in ("S", "R")
    with pytest.raises(FaultNotEffective, match="needs a running platform"):
        restored.apply()


def test_crash_point_kills_the_armed_pod_and_it_comes_back(start: Start) -> None:
    platform = start(spec())
    params = decode(CRASH.Params,
        {"selector": {"app": "consumer"}, "point": "after-effects-before-ack", "mode": "all"})
    actions = CRASH.actions(params, env(platform))
    assert len(actions) == 3
    for action in actions:
        action.apply()
    for action in actions:
        action.verify()
        action.revert()
    for action in actions:
        record = action.record()
        assert not alive(record["pid"])
        log = (platform.pods_dir / f"{record['pod']}.log").read_text()
        assert "crash at after-effects-before-ack" in log
    assert ready(platform) == 4
    restored = CRASH.restore(json.loads(json.dumps(actions[0].record())))
    restored.revert()


def test_crash_point_that_never_fires_is_disarmed_on_revert(start: Start) -> None:
    platform = start(target(component("idle", settings={"idle": True})))
    params = decode(CRASH.Params, {"selector": {"app": "idle"}, "point": "after-ack",
                                   "timeout": "500ms"})
    (action,) = CRASH.actions(params, env(platform))
    action.apply()
    with pytest.raises(FaultNotEffective, match="did not crash"):
        action.verify()
    action.revert()
    record = action.record()
    assert alive(record["pid"])
    assert "disarmed" in (platform.pods_dir / f"{record['pod']}.log").read_text()
    action.revert()  # idempotent


def test_crash_without_admin_api_is_not_effective(start: Start, tmp_path: Path) -> None:
    platform = start(target(component("plain", ports=["port"], ready={"tcp": "port"},
                                      settings={"mode": "tcp"})))
    params = decode(CRASH.Params,
        {"selector": {"app": "plain"}, "point": "after-ack", "port": "port"})
    (action,) = CRASH.actions(params, env(platform))
    with pytest.raises(FaultNotEffective, match="cannot arm"):
        action.apply()


def test_pods_ready_selector_and_bad_settings(start: Start) -> None:
    platform = start(spec())
    consumers = ProbeEnv(platform.target, platform, {"pods_selector": {"app": "consumer"}})
    assert PODS_READY.measure(consumers) == 3
    (pod,) = platform.pods({"tier": "data"})
    platform.pause(pod)
    assert ready(platform) == 3
    platform.resume(pod)
    assert ready(platform) == 4
    with pytest.raises(ProbeError, match="pods_selector must be a mapping"):
        PODS_READY.measure(ProbeEnv(platform.target, platform, {"pods_selector": "app"}))
