"""result.json (format pipechaos.result v1): the one summary of a run; written atomically."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT = {
    "passed": 0,
    "failed": 1,
    "aborted": 1,
    "skipped": 0,  # outside the allowed hours: nothing was touched
    "not_steady": 3,
    "refused": 2,  # safety refused the target before anything was written (Kubernetes)
    "error": 3,
    "interrupted": 130,
}


@dataclass
class RunResult:
    run_id: str
    experiment: str
    target: str
    seed: int
    status: str = "error"
    reason: str | None = None
    phases: dict[str, dict[str, int | None]] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)
    steady_state: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"before": [], "after": []}
    )
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    load: dict[str, Any] | None = None
    drained: bool | None = None
    bug: str | None = None  # the known-bad pipeline variant this run used, if any

    @property
    def exit_code(self) -> int:
        return EXIT.get(self.status, 3)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "pipechaos.result",
            "version": 1,
            "status": self.status,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "run_id": self.run_id,
            "experiment": self.experiment,
            "target": self.target,
            "seed": self.seed,
            "phases": self.phases,
            "faults": self.faults,
            "steady_state": self.steady_state,
            "verdicts": self.verdicts,
            "load": self.load,
            "drained": self.drained,
            "bug": self.bug,
        }


def write(path: Path, result: RunResult) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


FINISHED = ("passed", "failed")


def unfinished(run_dir: Path) -> str | None:
    """None when the run went to its verdict (passed or failed); else how it ended early,
    for `analyze` to print beside verdicts that judge only what the run left behind."""
    try:
        data = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "no result.json: the runner died before the end"
    except (OSError, ValueError):
        return "result.json is unreadable"
    status = data.get("status") if isinstance(data, dict) else None
    if status in FINISHED:
        return None
    reason = data.get("reason") if isinstance(data, dict) else None
    return f"{status}: {reason}" if reason else str(status)
