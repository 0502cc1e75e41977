"""Pure pieces of the runner: YAML safety, plan expansion, abort/steady evaluation,
the ledger's revert-once rule, the lock, the registry."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from chaos import registry
from chaos.probes.base import ProbeError
from chaos.probes.conditions import AbortWatch, steady
from chaos.run import journal as jr
from chaos.run.ledger import Ledger
from chaos.run.lock import LockBusy, TargetLock
from chaos.run.plan import occurrences
from chaos.spec.errors import SpecError
from chaos.spec.models import AbortCondition, Experiment, ProbeCheck
from chaos.spec.structs import decode
from chaos.spec.yamlsafe import load_text


def exp(**over: Any) -> Experiment:
    base: dict[str, Any] = {
        "apiVersion": "pipechaos/v1",
        "kind": "Experiment",
        "metadata": {"name": "x"},
        "target": "t",
        "load": "none",
        "timing": {"duration": "20s"},
    }
    base.update(over)
    return decode(Experiment, base)


def test_yaml_positions_and_merge() -> None:
    doc = load_text("f.yaml", b"base: &b {x: 1}\nm:\n  <<: *b\n  y: [a, b]\n")
    assert doc.data == {"base": {"x": 1}, "m": {"y": ["a", "b"], "x": 1}}
    assert doc.where(("m", "y", 1)) == (4, 10)
    assert doc.where(("m", "nope")) == (3, 3)  # nearest known prefix


@pytest.mark.parametrize(
    "text, needle",
    [
        (b"a: 1\na: 2\n", "duplicate key"),
        (b"a: !!python/object:os.system {}\n", "not allowed"),
        (b"a: !!binary aGVsbG8=\n", "not allowed"),
        (b"a: &a [*a]\n", "recursive alias"),
        (b"- 1\n", "top level is a list"),
        (b"just text\n", "top level is a single value"),
        (b"\xff\xfe", "not UTF-8"),
        (b"a: 1\x00", "NUL"),
    ],
)
def test_yaml_refusals(text: bytes, needle: str) -> None:
    with pytest.raises(SpecError) as info:
        load_text("f.yaml", text)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    start = time.monotonic()
    with pytest.raises(SpecError, match="alias bomb"):
        load_text("f.yaml", "\n".join(lines).encode())
    assert time.monotonic() - start < 10


def test_occurrences_expand_every_until_and_are_seeded() -> None:
    e = exp(
        faults=[
            {
                "type": "test.marker",
                "at": "1s",
                "duration": "2s",
                "every": "5s",
                "until": "12s",
                "dir": "m",
            },
            {"type": "test.kick", "at": "3s", "start_jitter": "2s", "dir": "m"},
        ]
    )
    a = occurrences(e, 1)
    assert [o.id for o in a if o.fault == 0] == ["f0.0", "f0.1", "f0.2"]
    assert [o.at_s for o in a if o.fault == 0] == [1, 6, 11]
    assert all(o.until_s == o.at_s + 2 for o in a if o.fault == 0)
    kick = next(o for o in a if o.fault == 1)
    assert 3 <= kick.at_s < 5 and kick.until_s is None
    assert kick.params == {"dir": "m"}
    assert occurrences(e, 1) == a
    assert any(occurrences(e, s) != a for s in range(2, 6))
    assert [o.at_s for o in a] == sorted(o.at_s for o in a)


def test_abort_watch_needs_the_bound_held_for_the_whole_span() -> None:
    watch = AbortWatch([decode(AbortCondition, {"probe": "lag", "above": 10, "for": "1s"})])
    s = 1_000_000_000
    assert watch.feed(0, {"lag": 50}) is None
    assert watch.feed(s // 2, {"lag": 50}) is None
    assert watch.feed(s // 2 + 1, {"lag": 5}) is None  # dips: the clock restarts
    assert watch.feed(s, {"lag": 50}) is None
    assert watch.feed(s + s // 2, {"lag": None}) is None  # a failed sample also restarts
    assert watch.feed(2 * s, {"lag": 50}) is None
    reason = watch.feed(3 * s, {"lag": 60})
    assert reason is not None and "lag" in reason and "above 10" in reason


def test_steady_polls_until_met_or_times_out() -> None:
    values = iter([500.0, 300.0, 50.0])
    now = [0.0]

    def measure(name: str) -> float:
        return next(values)

    ok = steady(
        [ProbeCheck(probe="lag", max=100, timeout=10.0)],
        measure,
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        clock=lambda: now[0],
    )
    assert ok[0]["ok"] and ok[0]["value"] == 50.0

    def broken(name: str) -> float:
        raise ProbeError("no redis")

    bad = steady(
        [ProbeCheck(probe="lag", max=100, timeout=1.0)],
        broken,
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        clock=lambda: now[0],
    )
    assert not bad[0]["ok"] and bad[0]["error"] == "no redis"


class CountingAction:
    fault = "t"

    def __init__(self, fail: bool = False) -> None:
        self.reverts = 0
        self.fail = fail

    def describe(self) -> str:
        return "counting"

    def record(self) -> dict[str, Any]:
        return {}

    def apply(self) -> None: ...

    def verify(self) -> None: ...

    def revert(self) -> None:
        self.reverts += 1
        if self.fail:
            raise RuntimeError("cannot")


def test_ledger_reverts_newest_first_and_never_twice(tmp_path: Path) -> None:
    journal = jr.Journal(tmp_path / "journal.jsonl")
    resets: list[int] = []
    ledger = Ledger(journal, last_resort=lambda: resets.append(1))
    actions = [CountingAction(), CountingAction(fail=True), CountingAction()]
    entries = [ledger.start(f"a{i}", "f0.0", "t", a) for i, a in enumerate(actions)]
    assert ledger.revert(entries[0])
    assert not ledger.revert_all()
    assert ledger.revert_all()  # nothing left to do; failures are not retried in-process
    assert [a.reverts for a in actions] == [1, 1, 1]
    assert resets == [1]
    journal.close()
    states = [
        (e["id"], e["state"]) for e in jr.read(tmp_path / "journal.jsonl") if e["event"] == "action"
    ]
    reverting = [i for i, s in states if s == "reverting"]
    assert reverting == ["a0", "a2", "a1"]
    assert ("a1", "revert_failed") in states
    assert [e["id"] for e in jr.unreverted(list(jr.read(tmp_path / "journal.jsonl")))] == ["a1"]


def test_journal_skips_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text('{"v":1,"event":"action","id":"a","state":"applying","record":{}}\n{"v":1,"ev')
    entries = list(jr.read(path))
    assert len(entries) == 1 and jr.unreverted(entries)[0]["id"] == "a"


def test_lock_is_exclusive_and_a_dead_holder_is_stale(tmp_path: Path) -> None:
    lock = TargetLock("t/x", tmp_path)
    lock.acquire()
    other = TargetLock("t/x", tmp_path)
    with pytest.raises(LockBusy, match=str(os.getpid())):
        other.acquire()
    lock.release()
    other.acquire()
    other.release()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                f"import sys,time; sys.path.insert(0, {str(Path(__file__).parents[2])!r})\n"
                "from chaos.run.lock import TargetLock\n"
                "from pathlib import Path\n"
                f"TargetLock('t/x', Path({str(tmp_path)!r})).acquire()\n"
                "print('held', flush=True); time.sleep(60)"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockBusy):
            TargetLock("t/x", tmp_path).acquire()
        holder.kill()
        holder.wait(10)
        with TargetLock("t/x", tmp_path):  # the dead holder no longer blocks
            pass
    finally:
        holder.kill()
        holder.wait(10)


def test_registry_is_lazy_and_helpful() -> None:
    assert "test.marker" in registry.faults.names()
    assert "did you mean 'test.marker'" in registry.faults.unknown("test.markr")
    with pytest.raises(registry.RegistryError, match="unknown probe"):
        registry.probes.get("nope")
    (first,) = [f for f in msgspec.structs.fields(registry.faults.get("test.marker").Params)
                if f.name == "dir"]
    assert first.required


def test_lock_can_wait_for_a_busy_target(tmp_path: Path) -> None:
    import threading

    holder = TargetLock("w", tmp_path)
    holder.acquire()
    threading.Timer(0.5, holder.release).start()
    start = time.monotonic()
    TargetLock("w", tmp_path).acquire(wait_s=10)
    assert 0.3 < time.monotonic() - start < 10
    with pytest.raises(LockBusy):
        TargetLock("w", tmp_path).acquire(wait_s=0.3)


def test_rollback_sees_the_record_journaled_again_once_applied(tmp_path: Path) -> None:
    """apply() may learn what revert needs (a certificate swap's backups)."""
    from chaos.run.journal import Journal, read, unreverted
    from chaos.run.ledger import Ledger

    class Learns:
        fault = "test.learns"

        def __init__(self) -> None:
            self.backup: str | None = None

        def describe(self) -> str:
            return "learns its backup path while applying"

        def record(self) -> dict[str, object]:
            return {"backup": self.backup}

        def apply(self) -> None:
            self.backup = "/tmp/backup.pem"

        def verify(self) -> None: ...

        def revert(self) -> None: ...

    journal = Journal(tmp_path / "journal.jsonl")
    ledger = Ledger(journal)
    action = Learns()
    entry = ledger.start("a1", "f0.0", action.fault, action)
    action.apply()
    ledger.mark(entry, "applied")
    (left,) = unreverted(list(read(tmp_path / "journal.jsonl")))
    assert left["record"] == {"backup": "/tmp/backup.pem"}
    assert left["last_state"] == "applied"


def test_a_faults_own_jitter_is_its_parameter_not_the_schedules() -> None:
    """`network.latency` has a `jitter`; the runner's schedule key is `start_jitter`."""
    from chaos.run.plan import occurrences
    from chaos.spec.models import Experiment

    e = decode(Experiment,
        {
            "apiVersion": "pipechaos/v1",
            "kind": "Experiment",
            "metadata": {"name": "x"},
            "target": "t",
            "load": {"rate": "10/s", "duration": "10s"},
            "faults": [
                {"type": "network.latency", "at": "2s", "duration": "2s", "proxy": "p",
                 "latency": "100ms", "jitter": "20ms"}
            ],
        }
    )
    (occ,) = occurrences(e, 3)
    assert occ.at_s == 2 and occ.params == {"proxy": "p", "latency": "100ms", "jitter": "20ms"}
