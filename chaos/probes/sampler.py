"""The sampler: a thread measuring every available probe on a fixed cadence, appending
timeseries.jsonl (the only writer of that file) and feeding the abort watch."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

from chaos.probes.base import Probe, ProbeEnv, ProbeError
from chaos.probes.conditions import AbortWatch

log = logging.getLogger("pipechaos")
FORMAT = {"format": "pipechaos.timeseries", "version": 1}


class Sampler:
    def __init__(
        self,
        probes: dict[str, Probe],
        env: ProbeEnv,
        path: Path,
        interval_s: float,
        watch: AbortWatch | None = None,
    ) -> None:
        self.probes = probes
        self.env = env
        self.path = path
        self.interval_s = max(0.01, interval_s)
        self.watch = watch
        self.abort_reason: str | None = None
        self.latest: dict[str, float | None] = {}
        self.samples = 0
        self._watching = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pipechaos-sampler", daemon=True)
        self._lock = threading.Lock()

    def measure(self, name: str) -> float | None:
        """One probe; None when it failed (ProbeError or any plugin error)."""
        try:
            value = float(self.probes[name].measure(self.env))
        except ProbeError:
            return None
        except Exception as exc:
            log.debug("probe %s raised %s: %s", name, type(exc).__name__, exc)
            return None
        return value if math.isfinite(value) else None

    def sample(self) -> dict[str, Any]:
        row: dict[str, Any] = {"t": time.time_ns()}
        for name in self.probes:
            row[name] = self.measure(name)
        return row

    def start(self) -> None:
        with self.path.open("w", encoding="utf-8") as f:
            f.write(json.dumps(FORMAT) + "\n")
        self._thread.start()

    def watch_aborts(self, on: bool) -> None:
        """Abort conditions apply during baseline, fault and recovery only."""
        self._watching = on

    def _loop(self) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            next_at = time.monotonic()
            while not self._stop.is_set():
                row = self.sample()
                out.write(json.dumps(row, separators=(",", ":")) + "\n")
                out.flush()
                with self._lock:
                    self.latest = {k: v for k, v in row.items() if k != "t"}
                    self.samples += 1
                if self.watch is not None and self._watching and self.abort_reason is None:
                    self.abort_reason = self.watch.feed(row["t"], self.latest)
                next_at += self.interval_s
                delay = next_at - time.monotonic()
                if delay < 0:  # a slow probe: skip missed ticks instead of bursting
                    next_at = time.monotonic()
                    delay = 0
                self._stop.wait(delay)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
