"""Load an experiment with its target and run every check: the single entry for
`validate`, `plan` and `run`, so all three refuse exactly the same inputs."""

from __future__ import annotations

from pathlib import Path

import msgspec

from chaos.spec.errors import Problem, SpecError
from chaos.spec.loader import parse, read_located, resolve_target_path
from chaos.spec.models import Experiment, TargetSpec
from chaos.spec.yamlsafe import Located


class Checked(msgspec.Struct, frozen=True):
    path: Path
    experiment: Experiment
    located: Located
    target_path: Path
    target: TargetSpec
    target_located: Located


def check_target_file(path: Path) -> tuple[TargetSpec, Located]:
    from chaos.spec.semantic import check_target

    located = read_located(path)
    target = parse(located, TargetSpec, "Target")
    found = check_target(target, located)
    if found:
        raise SpecError(found)
    return target, located


def check_experiment_file(path: Path, target_override: str | None = None) -> Checked:
    """Experiment + target, fully validated; SpecError lists every problem found."""
    from chaos.spec.semantic import check_experiment

    located = read_located(path)
    experiment = parse(located, Experiment, "Experiment")
    if target_override:
        target_path = Path(target_override)
        if not target_path.is_file():
            target_path = resolve_target_path(path, target_override, flag=True)
    else:
        target_path = resolve_target_path(path, experiment.target, located=located)
    target, target_located = check_target_file(target_path)
    found: list[Problem] = check_experiment(experiment, located, target)
    if found:
        raise SpecError(found)
    return Checked(path, experiment, located, target_path, target, target_located)


def kind_of(path: Path) -> str:
    """'Experiment' or 'Target' (or whatever the file claims), for `validate` on mixed lists."""
    located = read_located(path)
    kind = located.data.get("kind")
    return kind if isinstance(kind, str) else "Experiment"
