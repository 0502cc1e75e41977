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
        "no-fencing", "dead-letter-valid", "shutdown-acks-in-flight", "no-reconnect",
        "no-compensation-retry", "handshake-timeout-as-charged",
        "metrics-swallow-duplicates",
        "wal-after-ack", "no-replay")  # the last two: the producer's (producer/app.py)


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
    host: str = "127.0.0.1"  # the address servers bind (a Kubernetes pod: 0.0.0.0)

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
        host=str(raw.get("host") or "127.0.0.1"),
    )


def from_downward_api(text: str, env: dict[str, str]) -> str:
    """Kubernetes: one PIPECHAOS_POD for all replicas. `{index}` becomes POD_INDEX (the
    StatefulSet ordinal) and the name `<POD_NAME>-<8 hex of POD_UID>-<4 random hex>`: a
    StatefulSet pod comes back under the same name (and a crashed container restarts in the
    same pod), so only this keeps a new incarnation from inheriting its predecessor's
    consumer-group identity, whose pending entries only reclaim may recover."""
    if not env.get("POD_NAME"):
        return text
    import secrets

    raw = json.loads(text.replace("{index}", env.get("POD_INDEX") or "0"))
    uid = env.get("POD_UID", "").replace("-", "")[:8]
    raw["name"] = "-".join(p for p in (env["POD_NAME"], uid, secrets.token_hex(2)) if p)
    raw["index"] = int(env.get("POD_INDEX") or raw.get("index") or 0)
    return json.dumps(raw)


def load_pod() -> PodConfig:
    """The pod config from the environment, or exit with one clear line."""
    text = os.environ.get("PIPECHAOS_POD")
    if not text:
        die("PIPECHAOS_POD is not set (this module runs as a pipechaos pod)")
    try:
        pod = parse_pod(from_downward_api(text, dict(os.environ)))
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
