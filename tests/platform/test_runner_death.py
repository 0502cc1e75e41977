"""After the runner process is SIGKILLed, no process of the target is alive 5 s later."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chaos.platforms.local import LocalPlatform
from tests.platform.conftest import alive, component, running_pods, target

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("runner_script.py")), str(tmp_path)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, text=True,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_sigkilled_runner_leaves_no_process(
    runner: subprocess.Popen[str], tmp_path: Path
) -> None:
    assert runner.stdout is not None
    line = runner.stdout.readline()
    assert line, "the runner script printed nothing (see its stderr)"
    report = json.loads(line)
    pids = report["pids"]
    assert len(pids) == 5 and all(alive(p) for p in pids)  # 3 pods, 1 grandchild, proxy
    assert len(report["alive_after_thread_end"]) == 3  # up() ran in a thread that ended
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    assert [p for p in pids if alive(p)] == []
    assert running_pods(tmp_path) == []  # nothing else carrying a pod description either


def test_down_also_stops_grandchildren(start: Callable[..., LocalPlatform]) -> None:
    platform = start(target(component("parent", settings={"child": True})))
    (pod,) = platform.pods({})
    child = int((platform.pods_dir / "data" / "parent-0" / "child.pid").read_text())
    assert alive(child)
    platform.kill(pod, "KILL", 0)
    platform.wait_replacement(pod, 20)
    assert not alive(child), "a killed pod takes its whole process group with it"
    child = int((platform.pods_dir / "data" / "parent-0" / "child.pid").read_text())
    platform.down()
    assert not alive(child)
