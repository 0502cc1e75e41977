"""The run directory: its id, the resolved inputs and plan.json, written before anything
starts; and resolving ${...} references in plugin settings."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos.run.plan import plan_json
from chaos.spec.validate import Checked


def new_run_id(name: str) -> str:
    return f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def resolve_all(value: Any, resolve: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return resolve(value)
    if isinstance(value, dict):
        return {k: resolve_all(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_all(v, resolve) for v in value]
    return value


def prepare_run_dir(
    checked: Checked, seed: int, run_dir: Path | None, runs_root: Path = Path("runs")
) -> tuple[str, Path]:
    """Create the run directory with the resolved inputs and plan.json."""
    run_id = new_run_id(checked.experiment.metadata.name)
    # Absolute: load processes and pods run in other working directories.
    path = (run_dir if run_dir is not None else runs_root / run_id).absolute()
    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path}: run directory is not empty")
    path.mkdir(parents=True, exist_ok=True)
    (path / "experiment.yaml").write_bytes(checked.path.read_bytes())
    (path / "target.yaml").write_bytes(checked.target_path.read_bytes())
    plan = plan_json(checked.experiment, seed)
    plan["run_id"] = run_id
    plan["target"] = checked.target.metadata.name
    (path / "plan.json").write_text(json.dumps(plan, indent=2) + "\n", encoding="utf-8")
    return run_id, path
