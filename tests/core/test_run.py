"""Real runs in subprocesses with the test plugins: signals at random moments, SIGKILL
then rollback, abort, not steady, failing faults, the target lock."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from chaos.run.lock import TargetLock

from .core_helpers import Procs, run_cli

HEAD = """apiVersion: pipechaos/v1
kind: Experiment
metadata: {name: %s}
target: test
load: none
"""


def write_exp(work: Path, name: str, body: str) -> Path:
    path = work / "experiments" / f"{name}.yaml"
    path.write_text(HEAD % name + body)
    return path


def journal(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "journal.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


def last_states(entries: list[dict[str, Any]]) -> dict[str, str]:
    states: dict[str, str] = {}
    for e in entries:
        if e.get("event") == "action":
            states[e["id"]] = e["state"]
    return states


def actions_log(work: Path) -> list[dict[str, Any]]:
    path = work / "markers" / "actions.log"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def markers(work: Path) -> list[str]:
    d = work / "markers"
    return sorted(p.name for p in d.glob("marker-*")) if d.exists() else []


def wait_for(cond: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def assert_all_reverted_once(work: Path, run_dir: Path, pid: int) -> None:
    assert markers(work) == [], "a marker (applied fault) was left behind"
    states = last_states(journal(run_dir))
    assert all(s == "reverted" for s in states.values()), states
    reverts = Counter(
        e["path"] for e in actions_log(work) if e["op"] == "revert" and e["pid"] == pid
    )
    assert all(n == 1 for n in reverts.values()), reverts
    applied = {e["path"] for e in actions_log(work) if e["op"] == "apply"}
    assert applied <= set(reverts) | {e["path"] for e in actions_log(work) if e["op"] == "revert"}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_at_random_moments_reverts_everything_once(
    work: Path, procs: Procs, sig: signal.Signals
) -> None:
    seed = int(os.environ.get("PIPECHAOS_TEST_SEED", random.randrange(10**6)))
    rng = random.Random(seed)
    for attempt in range(4):
        run_dir = work / f"run-{sig.name}-{attempt}"
        proc = procs.start(["run", "experiments/markers.yaml", "--run-dir", str(run_dir)], work)
        wait_for(
            lambda rd=run_dir: any(e.get("event") == "run_start" for e in journal(rd)),
            what="run start",
        )
        delay = rng.uniform(0.0, 2.6)
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        note = f"seed={seed} attempt={attempt} delay={delay:.2f}s rc={proc.returncode} {err}"
        assert "Traceback" not in err, note
        result = json.loads((run_dir / "result.json").read_text())
        if result["status"] == "passed":  # the signal landed during teardown
            assert proc.returncode == 0, note
        else:
            assert proc.returncode == 130, note
            assert result["status"] == "interrupted" and result["exit_code"] == 130, note
        assert_all_reverted_once(work, run_dir, proc.pid)
        assert (run_dir / "platform-down").exists(), note
        assert journal(run_dir)[-1]["event"] == "run_end", note


LONG = """faults:
  - {type: test.marker, at: 0.1s, duration: 25s, dir: markers, count: 3}
timing: {duration: 30s, drain_timeout: 1s}
"""


def test_sigkill_then_rollback_reverts_what_was_left(work: Path, procs: Procs) -> None:
    write_exp(work, "long", LONG)
    proc = procs.start(["run", "experiments/long.yaml"], work)
    runs = work / "runs"

    def verified() -> bool:
        dirs = list(runs.glob("long-*")) if runs.exists() else []
        return bool(dirs) and list(last_states(journal(dirs[0])).values()).count("verified") == 3

    wait_for(verified, what="three verified actions")
    proc.kill()
    proc.wait(10)
    (run_dir,) = runs.glob("long-*")
    assert len(markers(work)) == 3
    rb = run_cli(["rollback"], work)  # no argument: every unfinished run under runs/
    assert rb.returncode == 0, rb.stderr
    assert "reverted 3 action(s)" in rb.stdout
    assert markers(work) == []
    entries = journal(run_dir)
    by_rollback = [e["id"] for e in entries if e.get("state") == "reverted" and e.get("by")]
    assert sorted(by_rollback) == ["f0.0.0", "f0.0.1", "f0.0.2"]
    assert by_rollback == sorted(by_rollback, reverse=True)  # newest first
    assert entries[-1] == {**entries[-1], "event": "run_end", "status": "rolled_back"}
    again = run_cli(["rollback", str(run_dir), "--json"], work)
    assert again.returncode == 0 and json.loads(again.stdout)[0]["reverted"] == []
    # the dead run's lock is stale, so the next run on the same target starts
    nxt = run_cli(["run", "experiments/markers.yaml", "--run-dir", "next"], work)
    assert nxt.returncode == 0, nxt.stderr


def test_rollback_refuses_a_live_run(work: Path, procs: Procs) -> None:
    write_exp(work, "long", LONG)
    proc = procs.start(["run", "experiments/long.yaml", "--run-dir", "live"], work)
    wait_for(lambda: "verified" in last_states(journal(work / "live")).values(), what="apply")
    rb = run_cli(["rollback", "live"], work)
    assert rb.returncode == 0 and "still in progress" in rb.stdout
    assert len(markers(work)) == 3
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 130 and markers(work) == []


def test_abort_condition_reverts_and_exits_1(work: Path, procs: Procs) -> None:
    write_exp(work, "abort", LONG + "abort_when:\n  - {probe: test_value, above: 50, for: 0.3s}\n")
    proc = procs.start(["run", "experiments/abort.yaml", "--run-dir", "r"], work)
    wait_for(
        lambda: list(last_states(journal(work / "r")).values()).count("verified") == 3, what="apply"
    )
    (work / "probe-value.txt").write_text("100")
    proc.communicate(timeout=30)
    assert proc.returncode == 1
    result = json.loads((work / "r" / "result.json").read_text())
    assert result["status"] == "aborted" and "test_value" in result["reason"]
    assert any(e["event"] == "abort" for e in journal(work / "r"))
    assert_all_reverted_once(work, work / "r", proc.pid)
    started = result["phases"]["fault"]["start"]
    assert (result["phases"]["fault"]["end"] - started) / 1e9 < 20  # stopped early


def test_not_steady_exits_3_and_applies_nothing(work: Path) -> None:
    (work / "probe-value.txt").write_text("500")
    write_exp(
        work, "unsteady", LONG + "steady_state:\n  - {probe: test_value, max: 100, timeout: 0.5s}\n"
    )
    proc = run_cli(["run", "experiments/unsteady.yaml", "--run-dir", "r"], work)
    assert proc.returncode == 3, proc.stderr
    result = json.loads((work / "r" / "result.json").read_text())
    assert result["status"] == "not_steady" and "test_value = 500" in result["reason"]
    assert result["steady_state"]["before"][0]["ok"] is False
    assert not any(e["event"] == "action" for e in journal(work / "r"))
    assert not (work / "markers").exists()


@pytest.mark.parametrize(
    "flag, state", [("fail_verify", "verify_failed"), ("fail_apply", "apply_failed")]
)
def test_fault_that_fails_is_reverted_and_exits_3(work: Path, flag: str, state: str) -> None:
    write_exp(
        work,
        "bad",
        f"""faults:
  - {{type: test.marker, at: 0.1s, duration: 1s, dir: markers}}
  - {{type: test.marker, at: 0.3s, duration: 1s, dir: markers, {flag}: true}}
timing: {{duration: 3s}}
""",
    )
    proc = run_cli(["run", "experiments/bad.yaml", "--run-dir", "r"], work)
    assert proc.returncode == 3, proc.stderr
    result = json.loads((work / "r" / "result.json").read_text())
    assert result["status"] == "error"
    entries = journal(work / "r")
    assert any(e.get("state") == state for e in entries)
    assert_all_reverted_once(work, work / "r", -1)
    assert sorted(last_states(entries)) == ["f0.0.0", "f1.0.0"]
    assert set(last_states(entries).values()) == {"reverted"}


@pytest.mark.parametrize("where", [["--run-dir", "r"], []])
def test_busy_target_is_one_plain_line_exit_3_and_leaves_nothing(
    work: Path, where: list[str]
) -> None:
    with TargetLock("test-target"):
        proc = run_cli(["run", "experiments/markers.yaml", *where], work)
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "target test-target is busy" in lines[0] and f"pid {os.getpid()}" in lines[0]
    assert "PIPECHAOS_LOCK_WAIT" in lines[0]  # the remedy
    assert "LockBusy" not in proc.stderr and "Traceback" not in proc.stderr
    assert not (work / "r").exists() and not (work / "runs").exists()
    assert not (work / "markers").exists()  # nothing applied


def test_dry_run_touches_nothing(work: Path) -> None:
    proc = run_cli(["run", "experiments/markers.yaml", "--dry-run", "--seed", "7"], work)
    assert proc.returncode == 0 and "f1.0" in proc.stdout
    assert not (work / "runs").exists() and not (work / "markers").exists()


def test_plan_is_deterministic_per_seed(work: Path) -> None:
    def plan(seed: int) -> dict[str, Any]:
        p = run_cli(["plan", "experiments/markers.yaml", "--seed", str(seed), "--json"], work)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)  # type: ignore[no-any-return]

    a, b, c = plan(11), plan(11), plan(12)
    assert a == b and a["seed"] == 11
    assert a["occurrences"] != c["occurrences"]


def test_seed_is_recorded_and_replayed(work: Path) -> None:
    proc = run_cli(["run", "experiments/markers.yaml", "--seed", "42", "--run-dir", "r"], work)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((work / "r" / "plan.json").read_text())
    again = run_cli(["plan", "experiments/markers.yaml", "--seed", "42", "--json"], work)
    assert plan["seed"] == 42
    assert plan["occurrences"] == json.loads(again.stdout)["occurrences"]
    assert (work / "r" / "timeseries.jsonl").read_text().splitlines()[0] == json.dumps(
        {"format": "pipechaos.timeseries", "version": 1}
    )
    rows = [json.loads(x) for x in (work / "r" / "timeseries.jsonl").read_text().splitlines()[1:]]
    assert len(rows) >= 5 and all(r["test_value"] == 5.0 for r in rows)
