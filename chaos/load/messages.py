"""Distributed load over Locust's own messages: workers share no directory with the master.

A worker says hello and gets its settings and slot index; ready, go, stop and done travel as
messages; its history records are sent in batches and the master appends them to
`history/load-K.pch` (the same format a local process writes). A worker sends an id only
once the master has written the claim covering it and acknowledged it, so a worker that dies
leaves its in-flight ids as claimed without completion: `info`, never missing.
Runs inside Locust only (gevent).
"""

from __future__ import annotations

import os
import time
from typing import Any

import gevent
import gevent.event
import orjson

from chaos.load.history import HistoryWriter
from chaos.load.history_format import CLAIM, RECORD_SIZE
from chaos.load.rates import RateRecorder
from chaos.load.settings import LoadPaths, LoadSettings, write_atomic

TYPES = ("hello", "settings", "ready", "go", "stop", "open", "records", "ack", "rates", "done",
         "error")  # fmt: skip
ACK_TIMEOUT_S = 30.0
_POLL_S = 0.005


def _name(kind: str) -> str:
    return f"pipechaos_{kind}"


# ---------------------------------------------------------------- worker side


class WorkerLink:
    """The driver's link on a worker: every exchange is a Locust message to the master."""

    claim_ahead = 1  # one block (about 100 ms of schedule) claimed ahead of sending

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.index = -1
        self.settings: LoadSettings | None = None
        self.t0: int | None = None
        self.stop: dict[str, Any] | None = None
        self.acked_end = -1
        self._event = gevent.event.Event()
        for kind, handler in (("settings", self._on_settings), ("go", self._on_go),
                              ("stop", self._on_stop), ("ack", self._on_ack)):  # fmt: skip
            runner.register_message(_name(kind), handler)

    def send(self, kind: str, data: dict[str, Any]) -> None:
        self.runner.send_message(_name(kind), {"index": self.index, **data})

    def hello(self, index: int | None) -> LoadSettings:
        """Ask the master for the settings and a slot (`index`: the one wanted, if any)."""
        self.runner.send_message(_name("hello"), {"index": index, "pid": os.getpid()})
        self._wait(lambda: self.settings is not None, "its settings")
        assert self.settings is not None
        return self.settings

    def _wait(self, done: Any, what: str, timeout_s: float = ACK_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"the Locust master sent no {what} within {timeout_s:g}s")
            self._event.clear()  # no yield since done() was read: no wake-up is missed
            self._event.wait(min(left, 0.5))

    def _on_settings(self, msg: Any, **_: Any) -> None:
        if msg.data.get("error"):
            raise SystemExit(f"the master refused this worker: {msg.data['error']}")
        self.index = int(msg.data["index"])
        self.settings = LoadSettings.from_json(msg.data["settings"])
        self.t0 = msg.data.get("t0")
        self._event.set()

    def _on_go(self, msg: Any, **_: Any) -> None:
        self.t0 = int(msg.data["t0"])
        self._event.set()

    def _on_stop(self, msg: Any, **_: Any) -> None:
        self.stop = dict(msg.data or {})

    def _on_ack(self, msg: Any, **_: Any) -> None:
        self.acked_end = max(self.acked_end, int(msg.data["end"]))
        self._event.set()

    # the driver's Link
    def ready(self) -> None:
        self.send("ready", {"pid": os.getpid()})

    def wait_go(self) -> int:
        self._wait(lambda: self.t0 is not None, "go", timeout_s=24 * 3600.0)
        assert self.t0 is not None
        return self.t0

    def stop_request(self) -> dict[str, Any] | None:
        return self.stop

    def history(self, run_id: str, meta: dict[str, Any]) -> HistoryWriter:
        return SentHistory(self, run_id, meta)

    def rates(self, t0: int) -> RateRecorder:
        return RateRecorder(_SentText(self), t0)  # type: ignore[arg-type]

    def report(self, done: dict[str, Any]) -> None:
        self.send("done", {"done": done})

    def wait_ack(self, order_id: int) -> None:
        self._wait(lambda: self.acked_end > order_id, f"acknowledgement for order {order_id}")


class SentHistory(HistoryWriter):
    """A HistoryWriter whose bytes go to the master; claim() asks for an acknowledgement."""

    def __init__(self, link: WorkerLink, run_id: str, meta: dict[str, Any]) -> None:
        self._link = link
        self._open = True
        self._buf = bytearray(4096 * RECORD_SIZE)
        self._used = 0
        self._codes: dict[str, int] = {}
        process = f"load-{link.index}"
        header = {"run_id": run_id, "process": process, "pid": os.getpid(), **meta}
        link.send("open", {"header": header})

    @property
    def closed(self) -> bool:
        return not self._open

    def flush(self, ack: int | None = None) -> None:
        if (self._used or ack is not None) and self._open:
            data = bytes(self._buf[: self._used])
            self._used = 0
            self._link.send("records", {"data": data, "ack": ack})

    def claim(self, first: int, end: int, stride: int = 1, t: int | None = None) -> None:
        self._range(CLAIM, first, end, stride, t)
        self.flush(ack=end)

    def wait_claimed(self, order_id: int) -> None:
        self._link.wait_ack(order_id)

    def close(self) -> None:
        if self._open:
            self.flush()
            self._open = False

    def _write(self, data: bytes) -> None:
        if not self._open:
            raise ValueError("history writer is closed")
        self._link.send("records", {"data": bytes(data), "ack": None})


class _SentText:
    """A text sink for RateRecorder: each flush is one message to the master."""

    def __init__(self, link: WorkerLink) -> None:
        self.link, self.closed = link, False
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        if self.parts:
            self.link.send("rates", {"text": "".join(self.parts)})
            self.parts.clear()

    def close(self) -> None:
        self.flush()
        self.closed = True


# ---------------------------------------------------------------- master side


class MasterRelay:
    """On the master: hands out settings and slots, writes what workers send, relays go and
    stop from the launcher's files (the master shares the runner's run directory)."""

    def __init__(self, runner: Any, paths: LoadPaths, settings_file: bytes) -> None:
        self.runner, self.paths, self.settings_file = runner, paths, settings_file
        self.processes = LoadSettings.from_json(settings_file).processes
        self.slots: dict[str, int] = {}  # Locust node id -> slot index
        self.writers: dict[int, HistoryWriter] = {}
        self.t0: int | None = None
        self.stop: dict[str, Any] | None = None
        for kind in ("hello", "ready", "open", "records", "rates", "done", "error"):
            runner.register_message(_name(kind), getattr(self, f"_on_{kind}"))
        gevent.spawn(self._relay_files)

    def _send(self, kind: str, data: dict[str, Any], node: str | None = None) -> None:
        self.runner.send_message(_name(kind), data, client_id=node)

    def _on_hello(self, msg: Any, **_: Any) -> None:
        taken = {k for n, k in self.slots.items() if n != msg.node_id}
        free = [k for k in range(self.processes) if k not in taken]
        wanted = msg.data.get("index")
        if not free:
            self._send("settings", {"error": f"all {self.processes} slots are taken"},
                       msg.node_id)  # fmt: skip
            return
        index = wanted if wanted in free else free[0]
        self.slots[msg.node_id] = index
        reply = {"index": index, "settings": self.settings_file, "t0": self.t0}
        self._send("settings", reply, msg.node_id)

    def _on_ready(self, msg: Any, **_: Any) -> None:
        k = int(msg.data["index"])
        write_atomic(self.paths.ready(k), str(msg.data.get("pid", "")).encode())

    def _on_open(self, msg: Any, **_: Any) -> None:
        k, header = int(msg.data["index"]), dict(msg.data["header"])
        run_id, process = header.pop("run_id"), header.pop("process")
        old = self.writers.pop(k, None)
        if old is not None:
            old.close()
        self.writers[k] = HistoryWriter(
            self.paths.history(k), run_id=run_id, process=process, meta=header
        )

    def _on_records(self, msg: Any, **_: Any) -> None:
        k = int(msg.data["index"])
        writer = self.writers.get(k)
        if writer is None:
            return
        writer.append_raw(msg.data["data"])  # in the kernel before the acknowledgement
        if msg.data.get("ack") is not None:
            self._send("ack", {"end": msg.data["ack"]}, msg.node_id)

    def _on_rates(self, msg: Any, **_: Any) -> None:
        with self.paths.rates(int(msg.data["index"])).open("a") as f:
            f.write(msg.data["text"])

    def _on_done(self, msg: Any, **_: Any) -> None:
        k = int(msg.data["index"])
        writer = self.writers.pop(k, None)
        if writer is not None:
            writer.close()
        write_atomic(self.paths.done(k), orjson.dumps(msg.data["done"]))

    def _on_error(self, msg: Any, **_: Any) -> None:
        k = max(0, int(msg.data["index"]))
        write_atomic(self.paths.error(k), str(msg.data["message"]).encode())

    def _relay_files(self) -> None:
        """go.json and stop.json (written by the launcher) become messages to every worker."""
        while self.stop is None:
            if self.t0 is None and self.paths.go.exists():
                self.t0 = int(orjson.loads(self.paths.go.read_bytes())["t0"])
                self._send("go", {"t0": self.t0})
            if self.paths.stop.exists():
                try:
                    self.stop = dict(orjson.loads(self.paths.stop.read_bytes()))
                except (orjson.JSONDecodeError, TypeError, ValueError):
                    self.stop = {}
                self._send("stop", self.stop)
            gevent.sleep(_POLL_S)
