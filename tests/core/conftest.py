"""Fixtures: the test plugins on the path, a private lock dir, a scratch copy of the sample
files, and started processes that are always cleaned up."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .core_helpers import FILES, Procs


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of tests/core/files as cwd, with its own lock directory."""
    dest = tmp_path / "work"
    shutil.copytree(FILES, dest)
    (dest / "probe-value.txt").write_text("5")
    monkeypatch.chdir(dest)
    monkeypatch.setenv("PIPECHAOS_LOCK_DIR", str(tmp_path / "locks"))
    return dest


@pytest.fixture
def procs() -> Iterator[Procs]:
    p = Procs()
    yield p
    for proc in p.items:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
