"""The pod description (PIPECHAOS_POD) as this pipeline reads it: its own tiny parser, so the
pipeline shares no code with the reference one."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

BUGS = ("ack-before-commit", "no-unique-key", "no-dlx", "no-heartbeat")


@dataclass(frozen=True)
class Pod:
    name: str
    component: str
    index: int
    ports: dict[str, int]
    settings: dict[str, Any]
    data_dir: Path
    bug: str | None

    def port(self, name: str) -> int:
        if name not in self.ports:
            die(f"pod {self.name}: no port named {name!r} (have {sorted(self.ports)})")
        return self.ports[name]


def die(message: str) -> NoReturn:
    """One line on stderr and exit 2: bad configuration is not a crash."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def load() -> Pod:
    """The pod from the environment, or exit with one clear line."""
    try:
        raw = json.loads(os.environ["PIPECHAOS_POD"])
        pod = Pod(
            name=str(raw["name"]), component=str(raw["component"]),
            index=int(raw.get("index", 0)), ports=dict(raw.get("ports") or {}),
            settings=dict(raw.get("settings") or {}), data_dir=Path(raw["data_dir"]),
            bug=raw.get("bug") or os.environ.get("PIPECHAOS_REF_BUG") or None,
        )
    except (KeyError, ValueError, TypeError) as e:
        die(f"PIPECHAOS_POD missing or malformed: {e}")
    if pod.bug is not None and pod.bug not in BUGS:
        die(f"unknown bug {pod.bug!r} for rabbit-sql; known: {', '.join(BUGS)}")
    pod.data_dir.mkdir(parents=True, exist_ok=True)
    return pod


def seconds(value: Any, default: float, what: str) -> float:
    """A settings duration: a number of seconds or text like `500ms`, `2s`, `1m`."""
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * scale
    die(f"setting {what}: {value!r} is not a duration (e.g. 500ms, 2s)")
