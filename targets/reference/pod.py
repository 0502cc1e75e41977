"""Read the pod description (PIPECHAOS_POD) the platform hands every process.

One tiny parser so every pod fails the same way, with one clear line, on bad config.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

BUGS = ("ack-before-effects", "no-idempotency", "no-compensation", "no-reclaim", "no-dlq",
        "no-fencing", "dead-letter-valid", "shutdown-acks-in-flight", "no-reconnect")


@dataclass(frozen=True)
class PodConfig:
    name: str
    component: str
    index: int
    ports: dict[str, int]
    settings: dict[str, Any]
    data_dir: Path
    labels: dict[str, str] = field(default_factory=dict)
    bug: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    ca_file: Path | None = None

    def port(self, name: str) -> int:
        if name not in self.ports:
            die(f"pod {self.name}: no port named {name!r} (have {sorted(self.ports)})")
        return self.ports[name]


def die(message: str) -> NoReturn:
    """Exit with one line on stderr: bad configuration is not a crash."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def parse_pod(text: str) -> PodConfig:
    """Parse PIPECHAOS_POD JSON; raise ValueError with a one-line reason."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"PIPECHAOS_POD is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError("PIPECHAOS_POD must be a JSON object")
    for key in ("name", "component", "data_dir"):
        if not isinstance(raw.get(key), str):
            raise ValueError(f"PIPECHAOS_POD.{key} missing or not a string")
    bug = raw.get("bug") or os.environ.get("PIPECHAOS_REF_BUG") or None
    if bug is not None and bug not in BUGS:
        raise ValueError(f"unknown bug {bug!r}; known: {', '.join(BUGS)}")
    tls = raw.get("tls") or {}
    ports = raw.get("ports") or {}
    if not all(isinstance(v, int) for v in ports.values()):
        raise ValueError("PIPECHAOS_POD.ports values must be integers")
    return PodConfig(
        name=raw["name"],
        component=raw["component"],
        index=int(raw.get("index", 0)),
        ports=dict(ports),
        settings=dict(raw.get("settings") or {}),
        data_dir=Path(raw["data_dir"]),
        labels=dict(raw.get("labels") or {}),
        bug=bug,
        tls_cert=Path(tls["cert"]) if tls.get("cert") else None,
        tls_key=Path(tls["key"]) if tls.get("key") else None,
        ca_file=Path(raw["ca_file"]) if raw.get("ca_file") else None,
    )


def load_pod() -> PodConfig:
    """The pod config from the environment, or exit with one clear line."""
    text = os.environ.get("PIPECHAOS_POD")
    if not text:
        die("PIPECHAOS_POD is not set (this module runs as a pipechaos pod)")
    try:
        pod = parse_pod(text)
    except ValueError as exc:
        die(str(exc))
    pod.data_dir.mkdir(parents=True, exist_ok=True)
    return pod


def duration_s(value: Any, default: float) -> float:
    """Settings durations: a number of seconds or '500ms' / '2s' / '1m'."""
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix):
            try:
                return float(text[: -len(suffix)]) * scale
            except ValueError:
                break
    try:
        return float(text)
    except ValueError:
        die(f"bad duration {value!r} (use e.g. 500ms, 2s)")
