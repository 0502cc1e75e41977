"""The launcher with real Locust processes publishing to a real redis-server.

Each test starts Locust as a subprocess exactly as the runner does; generous upper bounds on
timing, strict lower bounds on what must have happened.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chaos.checks.model import FAIL, INFO, OK
from chaos.load.history_format import DONE, RECORD
from chaos.load.launcher import LoadError, LoadGenerator
from chaos.spec.models import Load
from chaos.spec.structs import decode

from .conftest import RedisServer
from .forwarder import TcpForwarder
from .window import run_window

pytestmark = pytest.mark.timeout(120)
Make = Callable[..., LoadGenerator]


@pytest.fixture
def make_load(tmp_path: Path) -> Iterator[Make]:
    made: list[LoadGenerator] = []

    def make(address: str, timeout: str = "1s", **load: Any) -> LoadGenerator:
        gen = LoadGenerator(
            decode(Load, load),
            "redis-stream",
            {"address": address, "stream": "orders", "timeout": timeout},
            tmp_path / "run",
            "run-test",
            seed=7,
        )
        made.append(gen)
        return gen

    yield make
    for gen in made:
        gen.close()


def sleep_until(t_ns: float) -> None:
    time.sleep(max(0.0, (t_ns - time.time_ns()) / 1e9))


def done_records(run_dir: Path) -> np.ndarray[Any, Any]:
    parts = []
    for f in sorted((run_dir / "history").glob("*.pch")):
        raw = f.read_bytes()
        offset = raw.index(b"}") + 1
        offset += -offset % RECORD.itemsize
        recs = np.frombuffer(raw[offset:], dtype=RECORD)
        parts.append(recs[recs["kind"] == DONE])
    return np.concatenate(parts)


def test_achieved_rate_tracks_offered_rate(redis_server: RedisServer, make_load: Make) -> None:
    gen = make_load(redis_server.address, rate="200/s", duration="4s")
    t0 = gen.start()
    run_window(gen, t0, 4)
    stats = gen.stop(5)
    assert stats["offered"] == 800
    assert stats["counts"]["ok"] == 800
    assert stats["achieved_rate"] >= 180  # ok completions inside the 4 s window (busy host)
    offered = [row["offered"] for row in stats["per_second"]]
    assert offered[:4] == [200, 200, 200, 200] and sum(offered) == 800  # late acks: a 5th row
    assert sum(row["ok"] for row in stats["per_second"]) == 800
    assert sorted(redis_server.stream_ids()) == list(range(800))
    assert (gen.paths.load_dir / "stats.json").exists()


def test_master_and_two_workers_merge_into_one_history(
    redis_server: RedisServer, make_load: Make
) -> None:
    gen = make_load(
        redis_server.address, rate="200/s", duration="3s", ramp="1s", users=2, poison=0.05
    )
    t0 = gen.start()
    assert set(gen.pids) == {"master", "worker-0", "worker-1"}
    run_window(gen, t0, 3)
    stats = gen.stop(5)
    from chaos.load.history import read_history

    h = read_history(gen.paths.run_dir)
    assert h.order_id.tolist() == list(range(500))  # 100 ramping + 400: no gap, no duplicate
    assert (h.outcome == OK).all()
    assert 3 <= h.poison.sum() <= 70
    assert sorted(redis_server.stream_ids()) == list(range(500))
    files = sorted(p.name for p in (gen.paths.history_dir).iterdir())
    assert files == ["load-0.pch", "load-1.pch"]
    assert stats["counts"]["poison"] == int(h.poison.sum())


def test_early_stop_offers_a_gapless_prefix(redis_server: RedisServer, make_load: Make) -> None:
    gen = make_load(redis_server.address, rate="200/s", duration="20s")
    t0 = gen.start()
    run_window(gen, t0, 1.5)
    stats = gen.stop(5)
    assert all(p.poll() is not None for p in gen.procs.values())
    from chaos.load.history import read_history

    h = read_history(gen.paths.run_dir)
    n = h.order_id.size
    assert 250 <= n <= 600  # ~300 due in 1.5 s; claimed but unsent ids were released
    assert h.order_id.tolist() == list(range(n))
    assert (h.outcome == OK).all()
    assert stats["offered"] == n
    assert 1.4 <= stats["window_s"] <= 3
    assert sorted(redis_server.stream_ids()) == list(range(n))


def test_partition_ends_in_fail_or_info_and_loses_nothing(
    redis_server: RedisServer, forwarder: TcpForwarder, make_load: Make
) -> None:
    gen = make_load(forwarder.address, timeout="1s", rate="200/s", duration="10s")
    t0 = gen.start()
    sleep_until(t0 + 2.5e9)
    forwarder.set_mode("blackhole")  # 2.5 s of silence, then 2.5 s of refused connections
    cut = time.time_ns()
    sleep_until(t0 + 5e9)
    forwarder.set_mode("refuse")
    sleep_until(t0 + 7.5e9)
    heal = time.time_ns()
    forwarder.set_mode("pass")
    run_window(gen, t0, 10)
    stats = gen.stop(5)
    assert stats["processes"]["0"]["exit_code"] == 0  # failed publishes are data, not a crash

    from chaos.load.history import read_history

    h = read_history(gen.paths.run_dir)
    assert h.order_id.tolist() == list(range(2000))  # every offered order, no gap
    recs = done_records(gen.paths.run_dir)
    assert len(recs) == 2000 and len(np.unique(recs["order_id"])) == 2000  # one completion each
    # t_invoke is taken just before sending: a publish invoked after the cut cannot be
    # acknowledged; one invoked just before the heal may send after it (busy host): margin
    during = (h.t_invoke > cut) & (h.t_invoke < heal - 0.3e9)
    seen = {o: int((h.outcome[during] == o).sum()) for o in (OK, FAIL, INFO)}
    assert during.sum() >= 650, seen  # ~1000 offered while cut off: the generator kept going
    assert seen[OK] == 0, seen
    assert seen[FAIL] >= 100, seen  # refused connections
    assert seen[INFO] >= 100, seen  # black-holed: timed out after sending
    late = h.outcome[h.t_invoke > heal + 1.5e9]
    early = h.outcome[h.t_invoke < cut - 0.5e9]
    assert late.size >= 150 and (late == OK).all(), np.unique(late, return_counts=True)
    assert early.size >= 300 and (early == OK).all(), np.unique(early, return_counts=True)
    stored = set(redis_server.stream_ids())
    assert set(h.order_id[h.outcome == OK].tolist()) <= stored  # every ack is in the stream
    assert not stored & set(h.order_id[h.outcome == FAIL].tolist())  # no "fail" got in


def test_killed_load_process_leaves_its_in_flight_orders_as_info(
    redis_server: RedisServer, forwarder: TcpForwarder, make_load: Make
) -> None:
    gen = make_load(forwarder.address, timeout="2s", rate="200/s", duration="8s")
    t0 = gen.start()
    sleep_until(t0 + 1.5e9)
    forwarder.set_mode("blackhole")  # publishes now hang for up to 2 s: ~200 in flight
    sleep_until(t0 + 2.5e9)
    os.kill(gen.pids["0"], signal.SIGKILL)
    with pytest.raises(LoadError, match="exited with code -9"):
        run_window(gen, time.time_ns(), 10)  # check() raises once the death is seen
    gen.stop(1)
    forwarder.set_mode("pass")

    from chaos.load.history import read_history

    h = read_history(gen.paths.run_dir)
    n = h.order_id.size
    assert h.order_id.tolist() == list(range(n))  # claimed ids: contiguous
    assert 400 <= n < 1600  # the ~500 offered before the kill, never the whole schedule
    unanswered = h.t_done == -1
    assert unanswered.sum() >= 100
    assert (h.outcome[unanswered] == INFO).all()
    assert (h.outcome[:250] == OK).all()  # the first second went through
    stored = set(redis_server.stream_ids())
    assert stored <= set(h.order_id.tolist())  # whatever reached Redis is in the history
    assert not stored & set(h.order_id[h.outcome == FAIL].tolist())


def test_unknown_publisher_is_a_load_error(tmp_path: Path) -> None:
    gen = LoadGenerator(
        decode(Load, {"rate": "10/s", "duration": "1s"}),
        "no-such-publisher",
        {},
        tmp_path,
        "r",
        seed=1,
    )
    try:
        with pytest.raises(LoadError, match="unknown publisher 'no-such-publisher'"):
            gen.start()
    finally:
        gen.close()
    assert all(p.poll() is not None for p in gen.procs.values())


def test_sigterm_mid_run_keeps_the_history_consistent(
    redis_server: RedisServer, make_load: Make
) -> None:
    gen = make_load(redis_server.address, rate="200/s", duration="20s")
    t0 = gen.start()
    run_window(gen, t0, 1.5)
    gen.close()  # no stop request: Locust quits on SIGTERM mid-schedule
    from chaos.load.history import read_history

    h = read_history(gen.paths.run_dir)
    n = h.order_id.size
    assert 250 <= n <= 600
    assert h.order_id.tolist() == list(range(n))  # never-sent claims were released
    assert not (h.outcome == FAIL).any()
    assert set(redis_server.stream_ids()) <= set(h.order_id.tolist())
    assert (h.outcome[h.t_done == -1] == INFO).all()


def test_killed_worker_is_a_load_error_and_its_orders_stay_in_the_history(
    redis_server: RedisServer, make_load: Make
) -> None:
    gen = make_load(redis_server.address, rate="200/s", duration="10s", users=2)
    t0 = gen.start()
    run_window(gen, t0, 1.5)
    os.kill(gen.pids["worker-1"], signal.SIGKILL)
    with pytest.raises(LoadError, match="worker-1 exited with code -9"):
        run_window(gen, time.time_ns(), 10)  # check() raises once the death is seen
    started = time.monotonic()
    stats = gen.stop(2)
    assert time.monotonic() - started < 6  # a dead worker is not waited for
    from chaos.load.history import read_history

    h = read_history(gen.paths.run_dir)
    odd = h.order_id[h.order_id % 2 == 1]  # worker-1's stride
    assert odd.tolist() == list(range(1, 2 * odd.size, 2))  # its claimed ids, no gap
    assert 100 <= odd.size <= 600
    assert stats["counts"]["ok"] + stats["counts"]["info"] == h.order_id.size
    stored = set(redis_server.stream_ids())
    assert stored <= set(h.order_id.tolist())  # whatever reached Redis is in the history
