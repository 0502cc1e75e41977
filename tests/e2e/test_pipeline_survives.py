"""The reference pipeline on the local platform survives pod kills, a pause longer than
the reclaim idle time and a 5 s redis partition of one consumer, with nothing lost and
no effect applied twice (issue 4, "done when")."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from chaos.checks.model import COMPENSATED, COMPLETED, NONE, Observations
from chaos.checks.observations_file import read_observations
from chaos.faults.base import FaultEnv
from chaos.faults.pod import KILL, PAUSE
from chaos.load.payload import PayloadMaker
from chaos.observers.reference import ReferenceObserver
from chaos.platforms.local import LocalPlatform
from chaos.proxy.client import ToxiproxyClient
from chaos.publishers.redis_stream import RedisStreamPublisher
from chaos.spec.loader import load_target
from chaos.spec.structs import decode

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 2000
RATE = 150.0  # orders/s: publishing lasts ~13 s, long enough for every fault below
RUN_ID = "e2e-survives"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[LocalPlatform]:
    spec, _ = load_target(ROOT / "targets" / "reference-local.yaml")
    local = LocalPlatform(spec, tmp_path / "run", None)
    try:
        local.up()
        yield local
    finally:
        local.down()


def settings(platform: LocalPlatform, raw: dict[str, object]) -> dict[str, object]:
    return {k: platform.resolve(v) if isinstance(v, str) else v for k, v in raw.items()}


def publish_all(platform: LocalPlatform) -> dict[str, set[int]]:
    """Publish ORDERS orders at RATE through the producer's proxy; ids by outcome."""
    assert platform.target.publisher is not None
    publisher = RedisStreamPublisher(settings(platform, platform.target.publisher.settings),
                                     RUN_ID)
    maker = PayloadMaker.from_options(7, 0.0, {})
    outcomes: dict[str, set[int]] = {"ok": set(), "fail": set(), "info": set()}
    start = time.monotonic()
    try:
        for order_id in range(1, ORDERS + 1):
            delay = start + order_id / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            payload, _ = maker.make(order_id)
            outcomes[publisher.publish(order_id, payload).outcome].add(order_id)
    finally:
        publisher.close()
    return outcomes


def faults(platform: LocalPlatform, log: list[str], errors: list[BaseException]) -> None:
    """kill, pause > reclaim idle, 5 s partition of one consumer's redis hop, kill."""
    try:
        rng = random.Random(11)
        env = FaultEnv(platform.target, platform, rng, platform.run_dir, None)
        consumers = {"tier": "worker"}
        time.sleep(1.0)
        (kill,) = KILL.actions(decode(KILL.Params, {"selector": consumers}), env)
        kill.apply()
        kill.verify()
        log.append(kill.describe())

        (pause,) = PAUSE.actions(decode(PAUSE.Params, {"selector": consumers}), env)
        pause.apply()
        pause.verify()
        time.sleep(3.5)  # reclaim_idle is 2s: its in-flight entries get reclaimed
        pause.revert()
        log.append(pause.describe())

        paused_index = pause.record()["index"]
        victim = f"consumer-{(paused_index + 1) % 3}-broker"
        with ToxiproxyClient(platform.proxy_api()) as proxies:
            proxies.update_proxy(victim, enabled=False)  # connections cut, new ones refused
            time.sleep(5.0)
            proxies.update_proxy(victim, enabled=True)
        log.append(f"partitioned {victim} for 5s")

        (kill2,) = KILL.actions(decode(KILL.Params, {"selector": consumers}), env)
        kill2.apply()
        kill2.verify()
        log.append(kill2.describe())
    except BaseException as exc:  # reported by the test thread
        errors.append(exc)


def drain(observer: ReferenceObserver, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not observer.drained():
        assert time.monotonic() < deadline, f"not drained after {timeout_s:g}s"
        time.sleep(0.25)


def check(obs: Observations, outcomes: dict[str, set[int]]) -> None:
    ids = obs.order_id
    terminal = obs.outcome != NONE
    ok = np.array(sorted(outcomes["ok"]), dtype=np.int64)
    # every acknowledged order is terminal, exactly once (rows are unique by order id)
    assert len(np.unique(ids)) == len(ids)
    lost = np.setdiff1d(ok, ids[terminal])
    assert lost.size == 0, f"{lost.size} acknowledged orders lost: {lost[:10]}"
    phantom = np.setdiff1d(ids[terminal], np.array(sorted(outcomes["ok"] | outcomes["info"])))
    assert phantom.size == 0, f"phantom orders: {phantom[:10]}"
    dead = obs.dead_letters.order_id
    assert len(np.unique(dead)) == len(dead), "an order was dead-lettered twice"
    # every effect applied at most once; completed sagas applied every step once
    for effect, (orders, counts) in obs.effects.items():
        twice = orders[counts > 1]
        assert twice.size == 0, f"{effect} applied more than once for {twice[:10]}"
    completed = ids[obs.outcome == COMPLETED]
    compensated = ids[obs.outcome == COMPENSATED]
    for step, undo in obs.saga:
        assert np.isin(completed, obs.effects[step][0]).all(), f"completed without {step}"
        assert not np.isin(completed, obs.effects[undo][0]).any(), f"completed with {undo}"
        applied = compensated[np.isin(compensated, obs.effects[step][0])]
        assert np.isin(applied, obs.effects[undo][0]).all(), f"{step} not compensated"
    # conservation
    t = obs.totals
    assert t["stock"] + t["reserved"] == t["initial_stock"], t
    done = obs.outcome == COMPLETED
    assert t["charged"] - t["refunded"] == int(obs.value[done].sum()), t
    assert t["points"] == int(obs.points[done].sum()), t


def test_pipeline_survives_kills_pause_and_partition(
    platform: LocalPlatform, tmp_path: Path
) -> None:
    assert len(platform.pods({"tier": "worker"})) == 3
    log: list[str] = []
    errors: list[BaseException] = []
    chaos = threading.Thread(target=faults, args=(platform, log, errors), daemon=True)
    chaos.start()
    outcomes = publish_all(platform)
    chaos.join(timeout=120)
    assert not chaos.is_alive(), f"faults did not finish: {log}"
    assert not errors, f"a fault failed after {log}: {errors[0]!r}"
    assert len(outcomes["ok"]) >= ORDERS * 0.9, {k: len(v) for k, v in outcomes.items()}

    assert platform.target.observer is not None
    observer = ReferenceObserver(settings(platform, platform.target.observer.settings), platform)
    drain(observer, 120.0)
    path = tmp_path / "observations.json"
    observer.observe(RUN_ID, path)
    obs = read_observations(path)
    check(obs, outcomes)
    assert int((obs.outcome == COMPLETED).sum()) > ORDERS // 2
    assert int(obs.redeliveries.sum()) >= 1, "the faults never forced a redelivery"
    assert len(platform.pods({"tier": "worker"})) == 3
