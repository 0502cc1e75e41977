"""Run `pipechaos run` as a user would (a subprocess) and read what it left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunOutcome:
    exit_code: int
    result: dict[str, Any]
    output: str

    def verdict(self, name: str) -> dict[str, Any]:
        for verdict in self.result.get("verdicts", []):
            if verdict["name"] == name:
                return dict(verdict)
        raise AssertionError(f"no verdict {name!r} in {self.names()}\n{self.output}")

    def names(self) -> list[str]:
        return [v["name"] for v in self.result.get("verdicts", [])]

    def failing(self) -> list[str]:
        return [v["name"] for v in self.result.get("verdicts", []) if not v["ok"]]

    def explain(self) -> str:
        verdicts = {v["name"]: v["summary"] for v in self.result.get("verdicts", [])}
        return (
            f"exit {self.exit_code}, status {self.result.get('status')}, "
            f"reason {self.result.get('reason')}, verdicts {verdicts}\n{self.output[-4000:]}"
        )


def run_experiment(
    experiment: str | Path, run_dir: Path, bug: str | None = None, timeout: float = 150,
    target: str | None = None,
) -> RunOutcome:
    """Run one experiment: a library file name, or a path (an absolute path is kept as is);
    `target` (a name or a path from the project root) overrides the experiment's own."""
    env = dict(os.environ)
    env.pop("PIPECHAOS_REF_BUG", None)
    # Other runs on this machine (a developer's, another test session) hold the
    # reference target's lock in the user's lock directory; a test keeps its own.
    env["PIPECHAOS_LOCK_DIR"] = str(run_dir.parent / "locks")
    if bug:
        env["PIPECHAOS_REF_BUG"] = bug
    proc = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(ROOT / "experiments" / experiment),
         "--run-dir", str(run_dir), "--seed", "7",
         *(["--target", target] if target else [])],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    result_file = run_dir / "result.json"
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    return RunOutcome(proc.returncode, result, proc.stdout + proc.stderr)
