"""The reference producer as a real process against a real redis: what it confirms it
delivers, across its own crash at each crash point, with one stream entry per order; and
`no-replay` loses confirmed orders exactly where it should (`wal-after-ack`: the e2e
negative control, tests/e2e/test_negative_controls.py)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.redisproc import free_port, running_redis
from tests.system import ROOT

RUN = "run-1"


class ProducerPod:
    """One producer process; `restart()` starts the next incarnation on the same data dir
    and ports, as the platform does."""

    def __init__(self, tmp: Path, redis_port: int, bug: str | None = None) -> None:
        self.tmp, self.bug, self.incarnation = tmp, bug, 0
        self.ports = {"http": free_port(), "admin": free_port()}
        self.settings = {"redis": f"127.0.0.1:{redis_port}", "backoff_cap": "200ms"}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.incarnation += 1
        pod = {"name": f"producer-0-{self.incarnation}", "component": "producer", "index": 0,
               "ports": self.ports, "settings": self.settings, "bug": self.bug,
               "data_dir": str(self.tmp / "data")}
        log = (self.tmp / f"producer-{self.incarnation}.log").open("wb")
        env = {**os.environ, "PIPECHAOS_POD": json.dumps(pod)}
        env.pop("PIPECHAOS_REF_BUG", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "targets.reference.producer"],
                                     cwd=ROOT, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.admin("/healthz"), timeout=1).status_code == 200:
                    return
            assert self.proc.poll() is None, self.log()
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.05)

    def admin(self, path: str) -> str:
        return f"http://127.0.0.1:{self.ports['admin']}{path}"

    def post(self, order_id: int, client: httpx.Client) -> str:
        """ok / fail / info as the `http` publisher would classify the answer."""
        try:
            r = client.post(f"http://127.0.0.1:{self.ports['http']}/orders",
                            content=b'{"sku": "sku-1"}',
                            headers={"X-Order-Id": str(order_id), "X-Run-Id": RUN})
        except httpx.ConnectError:
            return "fail"
        except httpx.HTTPError:
            return "info"
        return "ok" if r.status_code == 200 else "fail" if r.status_code < 500 else "info"

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(self.admin("/status"), timeout=5).json()
        return body

    def wait_dead(self) -> None:
        assert self.proc is not None
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:]
                         for p in sorted(self.tmp.glob("producer-*.log")))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    with running_redis(tmp_path / "redis") as port:
        yield port


@pytest.fixture
def pods(tmp_path: Path, broker: int) -> Iterator[list[ProducerPod]]:
    made: list[ProducerPod] = []
    yield made
    for pod in made:
        pod.stop()


def _producer(pods: list[ProducerPod], tmp: Path, port: int, bug: str | None = None
              ) -> ProducerPod:
    pod = ProducerPod(tmp, port, bug)
    pods.append(pod)
    pod.start()
    return pod


def _stream(port: int) -> list[str]:
    r = redis.Redis(port=port, decode_responses=True)
    return [f["order_id"] for _, f in r.xrange("orders")]


def _settled(port: int, want: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(ids := _stream(port)) < want and time.monotonic() < deadline:
        time.sleep(0.05)
    return ids


def _load(pod: ProducerPod, orders: range) -> dict[int, str]:
    with httpx.Client(timeout=3) as client:
        return {o: pod.post(o, client) for o in orders}


def test_confirmed_orders_reach_the_stream_once(tmp_path: Path, broker: int,
                                                pods: list[ProducerPod]) -> None:
    pod = _producer(pods, tmp_path, broker)
    outcomes = _load(pod, range(1, 51))
    assert set(outcomes.values()) == {"ok"}
    assert sorted(_settled(broker, 50), key=int) == [str(i) for i in range(1, 51)]
    status = pod.status()
    assert status["accepted"] == 50 and status["sent"] == 50 and status["backlog"] == 0
    r = redis.Redis(port=broker, decode_responses=True)
    assert r.hget("orders:producer-backlog", "0") == "0"
    with httpx.Client() as client:
        bad = client.post(f"http://127.0.0.1:{pod.ports['http']}/orders", content=b"{}")
        assert bad.status_code == 400, "an order without its ids is refused"
        armed = client.post(pod.admin("/crash"), json={"point": "before-effects"})
        assert armed.status_code == 400, "the consumer's crash points are not the producer's"


@pytest.mark.parametrize("point", ["after-wal-before-xadd", "after-xadd"])
def test_a_crash_loses_nothing_confirmed_and_duplicates_nothing(
        point: str, tmp_path: Path, broker: int, pods: list[ProducerPod]) -> None:
    pod = _producer(pods, tmp_path, broker)
    _load(pod, range(1, 11))
    _settled(broker, 10)
    httpx.post(pod.admin("/crash"), json={"point": point}, timeout=5).raise_for_status()
    outcomes = _load(pod, range(11, 31))  # the producer dies among these
    pod.wait_dead()
    pod.start()
    confirmed = {str(o) for o, result in outcomes.items() if result == "ok"}
    assert confirmed, pod.log()
    ids = _settled(broker, 10 + len(confirmed))
    assert confirmed <= set(ids), f"confirmed but never delivered: {confirmed - set(ids)}"
    assert len(ids) == len(set(ids)), "a resend added a second entry for an order"
    status = pod.status()
    assert status["replayed"] > 0, status
    if point == "after-xadd":  # the crashed batch had reached the broker: resent, deduplicated
        assert status["deduplicated"] > 0, status


def test_bug_no_replay_loses_what_the_broker_never_took(
        tmp_path: Path, broker: int, pods: list[ProducerPod]) -> None:
    pod = _producer(pods, tmp_path, broker, bug="no-replay")
    httpx.post(pod.admin("/crash"), json={"point": "after-wal-before-xadd"},
               timeout=5).raise_for_status()
    outcomes = _load(pod, range(1, 21))
    pod.wait_dead()
    pod.start()
    confirmed = {str(o) for o, result in outcomes.items() if result == "ok"}
    time.sleep(1.0)
    assert confirmed - set(_stream(broker)), "no-replay must lose confirmed orders here"
    assert pod.status()["dropped"] > 0


def _metrics(pod: ProducerPod) -> dict[str, float]:
    """The producer's /metrics, parsed by prometheus_client (sample name -> value)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(pod.admin("/metrics"), timeout=5).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("component") == "producer":
                assert sample.labels["index"] == "0", sample
                out[sample.name] = sample.value
    return out


def test_the_producer_exports_what_it_counted(tmp_path: Path, broker: int,
                                              pods: list[ProducerPod]) -> None:
    pod = _producer(pods, tmp_path, broker)
    assert _metrics(pod)["producer_accepted_total"] == 0  # exported before the first order
    _load(pod, range(1, 21))
    _settled(broker, 20)
    httpx.post(pod.admin("/crash"), json={"point": "after-xadd"}, timeout=5).raise_for_status()
    confirmed = list(_load(pod, range(21, 31)).values()).count("ok")
    pod.wait_dead()
    pod.start()  # a new incarnation: counters from 0, the crashed batch replayed
    _settled(broker, 20 + confirmed)
    time.sleep(0.2)
    status, metrics = pod.status(), _metrics(pod)
    for what in ("accepted", "sent", "deduplicated", "resent", "replayed", "send_errors"):
        assert metrics[f"producer_{what}_total"] == status[what], (what, metrics, status)
    assert metrics["producer_replayed_total"] > 0 and metrics["producer_deduplicated_total"] > 0
    assert metrics["producer_pending_records"] == 0 and metrics["producer_lag_ms"] == 0
    assert metrics["producer_wal_syncs_total"] == status["wal"]["syncs"]
    _load(pod, range(31, 41))
    metrics = _metrics(pod)
    assert metrics["producer_accepted_total"] == 10
    assert metrics["producer_wal_syncs_total"] >= 1
    assert 0 < metrics["producer_wal_sync_seconds_total"] < 10
