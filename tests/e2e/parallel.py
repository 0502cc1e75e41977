"""Whole experiment runs side by side: most of a run is waiting (boot, load window, drain),
so a module's selected runs start together on first use, PARALLEL at a time, and each test
waits for its own. Each run has its own directory and lock directory (tests/e2e/runner.py),
so runs of one target do not find it busy; ports are allocated free per run."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.runner import RunOutcome, run_experiment

# runs at a time (1: one after another, as before)
PARALLEL = int(os.environ.get("PIPECHAOS_E2E_PARALLEL", "2"))
Key = tuple[str, str | None]  # (experiment, bug)


class Runs:
    def __init__(self, wanted: list[Key], parallel: int = PARALLEL,
                 **options: Any) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="pipechaos-e2e-"))
        self.base.chmod(0o711)  # servers running as their own users reach their data
        self.options = options
        self.pool = ThreadPoolExecutor(max_workers=max(1, parallel))
        self.futures: dict[Key, Future[RunOutcome]] = {}
        for key in wanted:
            self.start(key)

    def dir(self, key: Key) -> Path:
        name = Path(key[0]).name.removesuffix(".yaml")
        return self.base / f"{name}-{key[1] or 'correct'}" / "run"

    def start(self, key: Key) -> Future[RunOutcome]:
        if key not in self.futures:
            self.futures[key] = self.pool.submit(
                run_experiment, key[0], self.dir(key), bug=key[1], **self.options)
        return self.futures[key]

    def get(self, experiment: str, bug: str | None = None) -> tuple[RunOutcome, Path]:
        key = (experiment, bug)
        return self.start(key).result(), self.dir(key)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.base, ignore_errors=True)


def selected(request: pytest.FixtureRequest,
             key: Callable[[dict[str, Any]], Key | None]) -> list[Key]:
    """The runs of this module's tests selected in this session, in collection order."""
    wanted: list[Key] = []
    for item in request.session.items:
        spec = getattr(item, "callspec", None)
        if getattr(item, "module", None) is request.module and spec is not None:
            found = key(spec.params)
            if found is not None and found not in wanted:
                wanted.append(found)
    return wanted


def module_runs(request: pytest.FixtureRequest, key: Callable[[dict[str, Any]], Key | None],
                **options: Any) -> Iterator[Runs]:
    runs = Runs(selected(request, key), **options)
    try:
        yield runs
    finally:
        runs.close()
