"""How one load process talks to the rest of the run: the `Link` the driver uses.

`FileLink`: the run directory is shared (one Locust process on the local platform): ready,
go, stop and done are files, the history is written by the process itself.  The message
link for distributed workers is `chaos.load.messages.WorkerLink`.  Runs inside Locust only.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import gevent
import orjson

from chaos.load.history import HistoryWriter
from chaos.load.rates import RateRecorder
from chaos.load.settings import LoadPaths, write_atomic

_POLL_S = 0.005


class Link(Protocol):
    claim_ahead: int  # blocks claimed beyond the one being sent

    def ready(self) -> None: ...
    def wait_go(self) -> int: ...
    def stop_request(self) -> dict[str, Any] | None: ...
    def history(self, run_id: str, meta: dict[str, Any]) -> HistoryWriter: ...
    def rates(self, t0: int) -> RateRecorder: ...
    def report(self, done: dict[str, Any]) -> None: ...


class FileLink:
    claim_ahead = 0  # a claim is in the kernel when claim() returns: nothing to wait for

    def __init__(self, paths: LoadPaths, index: int) -> None:
        self.paths, self.index = paths, index

    def ready(self) -> None:
        write_atomic(self.paths.ready(self.index), str(os.getpid()).encode())

    def wait_go(self) -> int:
        while not self.paths.go.exists():
            gevent.sleep(_POLL_S)
        return int(orjson.loads(self.paths.go.read_bytes())["t0"])

    def stop_request(self) -> dict[str, Any] | None:
        try:
            raw = orjson.loads(self.paths.stop.read_bytes())
        except FileNotFoundError:
            return None
        except orjson.JSONDecodeError:
            raw = {}
        return raw if isinstance(raw, dict) else {}

    def history(self, run_id: str, meta: dict[str, Any]) -> HistoryWriter:
        path = self.paths.history(self.index)
        return HistoryWriter(path, run_id=run_id, process=f"load-{self.index}", meta=meta)

    def rates(self, t0: int) -> RateRecorder:
        return RateRecorder(self.paths.rates(self.index), t0)

    def report(self, done: dict[str, Any]) -> None:
        write_atomic(self.paths.done(self.index), orjson.dumps(done))
