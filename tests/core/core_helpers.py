"""Helpers for the runner-core tests: paths, the plugin path, the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PLUGINS = HERE / "plugins"
FILES = HERE / "files"
ROOT = HERE.parent.parent
if str(PLUGINS) not in sys.path:
    sys.path.insert(0, str(PLUGINS))  # in-process tests see the test plugins too
    from chaos import registry

    registry.rescan()  # in case another test module scanned entry points already


def cli_env(lock_dir: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PLUGINS), str(ROOT), env.get("PYTHONPATH", "")])
    if lock_dir is not None:
        env["PIPECHAOS_LOCK_DIR"] = str(lock_dir)
    env.pop("COLUMNS", None)
    return env


def run_cli(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chaos", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class Procs:
    """Processes a test started; killed at teardown whatever happened."""

    def __init__(self) -> None:
        self.items: list[subprocess.Popen[str]] = []

    def start(self, args: list[str], cwd: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chaos", *args],
            cwd=cwd,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        self.items.append(proc)
        return proc


def run_stopped_in_prepare(tmp_path: Path, monkeypatch: Any, observer: dict[str, Any]) -> str:
    """`pipechaos run` of the markers experiment with the test target's observer replaced
    by `observer`, which cannot read its source: the run must stop in prepare (exit 3,
    status error, no traceback, no fault applied). Returns the run's one-line reason."""
    import json
    import shutil

    work = tmp_path / "work"
    shutil.copytree(FILES, work)
    (work / "probe-value.txt").write_text("5")
    monkeypatch.setenv("PIPECHAOS_LOCK_DIR", str(tmp_path / "locks"))
    target = work / "targets" / "test.yaml"
    text = target.read_text()
    old = next(line for line in text.splitlines() if line.startswith("observer:"))
    target.write_text(text.replace(old, f"observer: {json.dumps(observer)}"))
    proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r"], work)
    assert proc.returncode == 3, proc.stderr
    result = json.loads((work / "r" / "result.json").read_text())
    assert result["status"] == "error"
    assert "Traceback" not in proc.stderr + proc.stdout
    events = [json.loads(x) for x in (work / "r" / "journal.jsonl").read_text().splitlines()]
    assert {e["phase"] for e in events if e["event"] == "phase"} == {"prepare"}
    assert not (work / "markers").exists()  # the marker fault would have written here
    return str(result["reason"])
