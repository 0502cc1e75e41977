"""Edges of a run: a platform that fails to start, a used run directory, the live view
on a real terminal (pty)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from .core_helpers import cli_env, run_cli


def test_platform_failure_exits_3_and_still_tears_down(work: Path) -> None:
    target = work / "targets" / "test.yaml"
    target.write_text(
        target.read_text().replace(
            "platform: {type: test}", "platform: {type: test, settings: {fail_up: true}}"
        )
    )
    proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r"], work)
    assert proc.returncode == 3, proc.stderr
    result = json.loads((work / "r" / "result.json").read_text())
    assert result["status"] == "error" and "PlatformError" in result["reason"]
    assert (work / "r" / "platform-down").exists()
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "PlatformError" in (work / "r" / "runner.log").read_text()


def test_run_dir_must_be_empty(work: Path) -> None:
    (work / "used").mkdir()
    (work / "used" / "journal.jsonl").write_text("{}\n")
    proc = run_cli(["run", "experiments/markers.yaml", "--run-dir", "used"], work)
    assert proc.returncode == 2
    assert "not empty" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_live_view_on_a_terminal(work: Path) -> None:
    """With stderr on a tty the rich live view draws phases and active faults."""
    main_fd, sub_fd = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chaos", "run", "experiments/markers.yaml", "--run-dir", "r"],
        cwd=work,
        env={**cli_env(), "TERM": "xterm", "COLUMNS": "120"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=sub_fd,
    )
    os.close(sub_fd)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([main_fd], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(main_fd, 65536)
                except OSError:
                    break
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main_fd)
        assert proc.stdout is not None
        proc.stdout.close()
    text = seen.decode(errors="replace")
    assert proc.returncode == 0
    assert "phase" in text and "fault" in text and "marker" in text
    assert "\x1b[" in text  # drawn in place with terminal escapes, not plain log lines
