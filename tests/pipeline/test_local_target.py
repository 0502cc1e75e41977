"""The issue's end-to-end scenario on the real local platform from
targets/reference-local.yaml: 2,000 orders through the proxies while a consumer is killed
twice, one is paused past the reclaim idle time and one is cut off from redis for 5 s."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from chaos.load.payload import PayloadMaker
from chaos.observers.reference import ReferenceObserver
from chaos.platforms.local import LocalPlatform
from chaos.publishers.redis_stream import RedisStreamPublisher
from chaos.spec.loader import load_target
from tests.pipeline.harness import ROOT, by_order, effect_counts


def _resolve(platform: LocalPlatform, value: Any) -> Any:
    if isinstance(value, str):
        return platform.resolve(value)
    if isinstance(value, dict):
        return {k: _resolve(platform, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(platform, v) for v in value]
    return value


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[LocalPlatform]:
    spec, _ = load_target(ROOT / "targets" / "reference-local.yaml")
    plat = LocalPlatform(spec, tmp_path / "run", None)
    try:
        plat.up()
        yield plat
    finally:
        plat.down()


def _publish(platform: LocalPlatform, run_id: str, n: int, rate: float,
             outcomes: dict[int, str]) -> None:
    assert platform.target.publisher is not None
    pub = RedisStreamPublisher(_resolve(platform, platform.target.publisher.settings), run_id)
    maker = PayloadMaker(seed=3, declined=0.05)
    start = time.monotonic()
    for oid in range(1, n + 1):
        delay = start + oid / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        outcomes[oid] = pub.publish(oid, maker.make(oid)[0]).outcome
    pub.close()


def test_reference_target_survives_kills_pause_and_partition(platform: LocalPlatform) -> None:
    outcomes: dict[int, str] = {}
    loader = threading.Thread(target=_publish, args=(platform, "e2e", 2000, 200.0, outcomes))
    loader.start()
    api = platform.proxy_api()
    consumers = {"app": "consumer"}
    time.sleep(1.5)
    platform.kill(platform.pods(consumers)[0], "KILL", 0)
    time.sleep(1.5)
    paused = platform.pods(consumers)[1]
    platform.pause(paused)
    time.sleep(3.0)  # > reclaim_idle (2 s)
    platform.resume(paused)
    httpx.post(f"{api}/proxies/consumer-2-redis", json={"enabled": False}, timeout=5)
    time.sleep(5.0)
    httpx.post(f"{api}/proxies/consumer-2-redis", json={"enabled": True}, timeout=5)
    platform.kill(platform.pods(consumers)[0], "KILL", 0)
    loader.join(60)
    assert len(outcomes) == 2000

    assert platform.target.observer is not None
    observer = ReferenceObserver(_resolve(platform, platform.target.observer.settings),
                                 platform)
    deadline = time.monotonic() + 90
    while not observer.drained():
        assert time.monotonic() < deadline, "did not drain"
        time.sleep(0.2)
    path = platform.run_dir / "observations.json"
    observer.observe("e2e", path)
    doc = orjson.loads(path.read_bytes())
    rows = by_order(doc)
    acked = [oid for oid, o in outcomes.items() if o == "ok"]
    assert len(acked) >= 1900
    assert all(rows[oid]["outcome"] in (1, 2) for oid in acked)  # terminal, none lost
    for pair in doc["saga"]:
        for effect in pair:
            assert set(effect_counts(doc, effect).values()) <= {1}, effect
    completed = [r for r in rows.values() if r["outcome"] == 1]
    assert len(completed) >= 0.9 * len(acked)
    t = doc["totals"]
    assert t["stock"] + t["reserved"] == t["initial_stock"]
    assert t["charged"] - t["refunded"] == sum(r["value"] for r in completed)
    assert t["points"] == sum(r["points"] for r in completed)
    assert sum(r["redeliveries"] for r in rows.values()) >= 1
