"""Distributed load: a Locust master and 2 workers, separate processes, whose history
reaches the master only as Locust messages (the workers get no settings file, run in an
empty directory and never open a file of the run), and a worker killed mid-run."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from chaos.checks.model import (
    FAIL,
    INFO,
    OK,
    DeadLetters,
    History,
    Observations,
    Phases,
    Timeseries,
)
from chaos.load.history import read_history
from chaos.load.launcher import LoadGenerator
from chaos.load.settings import ENV_SETTINGS
from chaos.spec.models import Load
from chaos.spec.structs import decode

from .conftest import RedisServer
from .forwarder import TcpForwarder

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def gens() -> Iterator[list[LoadGenerator]]:
    made: list[LoadGenerator] = []
    yield made
    for gen in made:
        gen.close()


def make(made: list[LoadGenerator], run_dir: Path, address: str, **load: object) -> LoadGenerator:
    gen = LoadGenerator(
        decode(Load, {"users": 2, **load}),
        "redis-stream",
        {"address": address, "stream": "orders", "timeout": "2s"},
        run_dir,
        "run-dist",
        seed=11,
    )
    made.append(gen)
    return gen


def open_files(pid: int) -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return out


def delivery_verdict(history: History, stream_ids: set[int]) -> tuple[bool, dict[str, object]]:
    """The `delivery` check over the history, the stream standing in for the pipeline."""
    from chaos import registry

    ids = np.array(sorted(stream_ids), dtype=np.int64)
    n = len(ids)
    zeros = np.zeros(n, dtype=np.int64)
    obs = Observations(
        ids, np.ones(n, dtype=np.int8), zeros + 1, zeros, zeros, zeros, zeros, {}, [],
        DeadLetters(np.zeros(0, np.int64), np.zeros(0, np.int64), []), {},
    )  # fmt: skip
    check = registry.checks.get("delivery")
    verdict = check(history, obs, Timeseries(np.zeros(0, np.int64), {}), Phases({}, []), {})
    return bool(verdict.ok), dict(verdict.metrics)


def test_workers_send_their_history_only_as_locust_messages(
    redis_server: RedisServer, gens: list[LoadGenerator], tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    gen = make(gens, run_dir, redis_server.address, rate="200/s", duration="3s")
    t0 = gen.start()
    assert set(gen.pids) == {"master", "worker-0", "worker-1"}
    time.sleep(max(0.0, (t0 + 1.5e9 - time.time_ns()) / 1e9))
    for role in ("worker-0", "worker-1"):
        pid = gen.pids[role]
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert not any(e.startswith(ENV_SETTINGS.encode() + b"=") for e in environ)
        cwd = os.readlink(f"/proc/{pid}/cwd")
        assert not cwd.startswith(str(run_dir)) and os.listdir(cwd) == []
        log = str(run_dir / "load" / f"locust-{role}.log")  # its stdout, opened by the launcher
        assert not [f for f in open_files(pid) if f.startswith(str(run_dir)) and f != log]
    master_files = open_files(gen.pids["master"])
    assert str(run_dir / "history" / "load-0.pch") in master_files  # the master writes
    assert str(run_dir / "history" / "load-1.pch") in master_files
    while time.time_ns() < t0 + 3e9:
        gen.check()
        time.sleep(0.1)
    stats = gen.stop(5)
    h = read_history(run_dir)
    assert h.order_id.tolist() == list(range(600))  # complete: no gap, no duplicate
    assert np.isin(h.outcome, [OK, FAIL, INFO]).all() and (h.outcome == OK).all()
    assert sorted(redis_server.stream_ids()) == list(range(600))
    assert stats["offered"] == 600 and sum(r["offered"] for r in stats["per_second"]) == 600
    assert all((run_dir / "load" / f"done-{k}.json").exists() for k in (0, 1))


def test_a_killed_worker_leaves_its_in_flight_ids_as_info(
    redis_server: RedisServer, forwarder: TcpForwarder, gens: list[LoadGenerator],
    tmp_path: Path,
) -> None:  # fmt: skip
    run_dir = tmp_path / "run"
    gen = make(gens, run_dir, forwarder.address, rate="200/s", duration="8s")
    t0 = gen.start()
    time.sleep(max(0.0, (t0 + 1.5e9 - time.time_ns()) / 1e9))
    forwarder.set_mode("blackhole")  # publishes now hang for up to 2 s: in flight
    time.sleep(0.8)
    os.kill(gen.pids["worker-1"], signal.SIGKILL)
    time.sleep(1.0)
    forwarder.set_mode("pass")
    time.sleep(max(0.0, (t0 + 5e9 - time.time_ns()) / 1e9))
    gen.stop(3)
    h = read_history(run_dir)
    assert np.isin(h.outcome, [OK, FAIL, INFO]).all()
    odd = h.order_id[h.order_id % 2 == 1]  # worker-1's stride
    assert odd.tolist() == list(range(1, 2 * odd.size, 2))  # every claimed id, no gap
    dead = h.order_id % 2 == 1
    unanswered = dead & (h.t_done == -1)
    assert unanswered.sum() >= 50  # ~0.8 s of its publishes were in flight at the kill
    assert (h.outcome[unanswered] == INFO).all()
    even = h.order_id[~dead]  # worker-0 went on to the stop
    assert even.size > odd.size and even.tolist() == list(range(0, 2 * even.size, 2))
    stored = set(redis_server.stream_ids())
    assert stored <= set(h.order_id.tolist())  # whatever reached Redis is in the history
    ok, metrics = delivery_verdict(h, stored)
    assert ok, metrics  # the verdict computes: info ids may or may not have arrived
    acked = int(h.order_id[h.outcome == OK][0])
    assert not delivery_verdict(h, stored - {acked})[0]  # and it can fail


def claimed_ends(path: Path) -> dict[int, int]:
    """stride-class -> the highest claim end in a history file (what the master wrote)."""
    from chaos.load.history_format import CLAIM, RECORD

    raw = path.read_bytes()
    start = raw.index(b"}") + 1
    start += -start % RECORD.itemsize
    body = raw[start : start + (len(raw) - start) // RECORD.itemsize * RECORD.itemsize]
    recs = np.frombuffer(body, dtype=RECORD)
    claims = recs[recs["kind"] == CLAIM]
    return {int(c["order_id"]) % 2: int(c["t_done"]) for c in claims}


def test_a_worker_sends_nothing_the_master_has_not_claimed(
    redis_server: RedisServer, gens: list[LoadGenerator], tmp_path: Path
) -> None:
    """Freeze the master: its acknowledgements stop, so the workers stop publishing at the
    last claim the master wrote, and every id in Redis is inside a claim on disk."""
    run_dir = tmp_path / "run"
    gen = make(gens, run_dir, redis_server.address, rate="200/s", duration="6s")
    t0 = gen.start()
    time.sleep(max(0.0, (t0 + 1.5e9 - time.time_ns()) / 1e9))
    master = gen.pids["master"]
    os.kill(master, signal.SIGSTOP)
    try:
        time.sleep(0.3)  # what was acknowledged before the freeze is sent by now
        ends = {k: claimed_ends(run_dir / "history" / f"load-{k}.pch")[k] for k in (0, 1)}
        seen = len(redis_server.stream_ids())
        time.sleep(1.2)  # the schedule asks for 240 more meanwhile
        ids = redis_server.stream_ids()
    finally:
        os.kill(master, signal.SIGCONT)
    assert len(ids) - seen < 10  # stalled on the missing acknowledgements
    for order_id in ids:
        assert order_id < ends[order_id % 2], (order_id, ends)  # sent only once claimed
    while time.time_ns() < t0 + 6e9:
        time.sleep(0.1)
    gen.stop(5)
    h = read_history(run_dir)
    assert h.order_id.tolist() == list(range(1200))  # late, but complete
    assert set(redis_server.stream_ids()) == set(range(1200))


def test_remote_workers_started_as_the_chart_does(
    redis_server: RedisServer, gens: list[LoadGenerator], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """PIPECHAOS_LOAD_WORKERS=remote: the master listens and starts no worker; two
    `pipechaos load-worker --master HOST:PORT` processes (the Indexed Job's pods) join it."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("PIPECHAOS_LOAD_WORKERS", "remote")
    monkeypatch.setenv("PIPECHAOS_LOAD_MASTER_PORT", str(port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPECHAOS_LOAD")}
    command = [sys.executable, "-m", "chaos", "load-worker", "--master", f"127.0.0.1:{port}"]
    workers = [  # started before the master, as pods may be: they keep trying
        subprocess.Popen(
            [*command, "--index", str(k), "--wait", "60s"],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        for k in (1, 0)
    ]
    try:
        run_dir = tmp_path / "run"
        gen = make(gens, run_dir, redis_server.address, rate="100/s", duration="2s")
        t0 = gen.start()
        assert set(gen.pids) == {"master"}
        while time.time_ns() < t0 + 2e9:
            gen.check()
            time.sleep(0.1)
        gen.stop(5)
        gen.close()
        for w in workers:
            out, _ = w.communicate(timeout=60)
            assert w.returncode == 0, out[-2000:]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.communicate()
    h = read_history(run_dir)
    assert h.order_id.tolist() == list(range(200)) and (h.outcome == OK).all()
    assert sorted(redis_server.stream_ids()) == list(range(200))


def test_load_worker_rejects_a_bad_master_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "chaos", "load-worker", "--master", "no-port"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        'pipechaos: --master: want HOST:PORT (e.g. pipechaos-load:5557), got "no-port"'
    )
