"""What the launcher hands to each Locust process (settings.json) and where files go.

Shared by the launcher (runner process) and the locustfile; imports neither locust nor gevent.
Layout under the run directory:
  load/settings.json   these settings            load/go.json      t0, written once all ready
  load/ready-K         process K is ready         load/stop.json    stop offering (timeout_s)
  load/done-K.json     process K's counters      load/error-K.txt  why process K gave up
  load/rates-K.csv     per-second counters       load/locust-*.log Locust's own output
  history/load-K.pch   process K's history
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

FORMAT = "pipechaos.load-settings"
VERSION = 1
ENV_SETTINGS = "PIPECHAOS_LOAD_SETTINGS"
ENV_INDEX = "PIPECHAOS_LOAD_INDEX"


@dataclass(frozen=True)
class LoadSettings:
    run_id: str
    seed: int
    rate: float
    duration: float
    ramp: float
    poison: float
    processes: int
    publisher_type: str
    publisher_settings: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    claim_s: float = 0.1  # seconds of schedule claimed (and flushed) ahead of sending
    max_in_flight: int = 0  # 0 = derived from the rate; beyond it a publish fails "Overloaded"

    def to_json(self) -> bytes:
        return orjson.dumps({"format": FORMAT, "version": VERSION, **asdict(self)})

    @classmethod
    def from_json(cls, data: bytes) -> LoadSettings:
        raw = orjson.loads(data)
        if raw.get("format") != FORMAT or raw.get("version") != VERSION:
            raise ValueError("not a version 1 pipechaos load settings file")
        del raw["format"], raw["version"]
        return cls(**raw)

    def in_flight_cap(self) -> int:
        """Concurrent publishes allowed per process (bounded by file descriptors)."""
        if self.max_in_flight > 0:
            return self.max_in_flight
        return int(min(4096, max(256, 10 * self.rate / self.processes)))


@dataclass(frozen=True)
class LoadPaths:
    run_dir: Path

    @property
    def load_dir(self) -> Path:
        return self.run_dir / "load"

    @property
    def history_dir(self) -> Path:
        return self.run_dir / "history"

    @property
    def settings(self) -> Path:
        return self.load_dir / "settings.json"

    @property
    def go(self) -> Path:
        return self.load_dir / "go.json"

    @property
    def stop(self) -> Path:
        return self.load_dir / "stop.json"

    def ready(self, k: int) -> Path:
        return self.load_dir / f"ready-{k}"

    def done(self, k: int) -> Path:
        return self.load_dir / f"done-{k}.json"

    def error(self, k: int) -> Path:
        return self.load_dir / f"error-{k}.txt"

    def rates(self, k: int) -> Path:
        return self.load_dir / f"rates-{k}.csv"

    def history(self, k: int) -> Path:
        return self.history_dir / f"load-{k}.pch"

    def log(self, role: str) -> Path:
        return self.load_dir / f"locust-{role}.log"


def write_atomic(path: Path, data: bytes) -> None:
    """Readers never see a half-written file: write beside it, then rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
