"""An experiment's `safety` block against its target, refused by `validate` (exit 2) before
anything starts: the namespace allow-list and the blast-radius cap (`max_pods`).

The run enforces `max_pods` again when each occurrence starts (chaos/run/faults.py),
counting the pods its actions really picked plus those still held by active faults.
"""

from __future__ import annotations

from typing import Any

from chaos import registry
from chaos.spec.errors import Problem, path_text
from chaos.spec.models import Experiment, TargetSpec
from chaos.spec.structs import ValidationError, decode
from chaos.spec.yamlsafe import Located, Path


def check_safety(experiment: Experiment, located: Located, target: TargetSpec) -> list[Problem]:
    found: list[Problem] = []

    def add(path: Path, message: str) -> None:
        pos = located.where(path)
        line, col = pos if pos else (None, None)
        found.append(Problem(located.file, message, path_text(path), line, col))

    allowed = experiment.safety.allowed_namespaces
    if allowed:
        namespace = namespace_of(target)
        platform = target.platform.type
        if namespace is None:
            add(
                ("safety", "allowed_namespaces"),
                f"platform {platform!r} of target {target.metadata.name!r} names no namespace, "
                "so the allow-list cannot be checked",
            )
        elif namespace not in allowed:
            add(
                ("safety", "allowed_namespaces"),
                f"target {target.metadata.name!r} runs in namespace {namespace!r} "
                f"(platform {platform}), which is not allowed here ({', '.join(allowed)})",
            )
    cap = experiment.safety.max_pods
    if cap is not None:
        for i, spec in enumerate(experiment.faults):
            most = _pods_at_most(spec.type, spec.params, target)
            if most is not None and most > cap:
                where: Path = ("faults", i, "mode") if "mode" in spec.params else ("faults", i)
                add(
                    where,
                    f"{spec.type} may touch up to {most} pods on target "
                    f"{target.metadata.name!r}; safety.max_pods is {cap}",
                )
    return found


def namespace_of(target: TargetSpec) -> str | None:
    """The target's namespace as its platform reports it (None: it has none)."""
    try:
        platform: Any = registry.platforms.get(target.platform.type)
    except registry.RegistryError:
        return None  # the target check has reported the unknown platform already
    namespace = getattr(platform, "namespace", None)
    value = namespace(target) if callable(namespace) else None
    return value if isinstance(value, str) else None


def _pods_at_most(fault_type: str, params: dict[str, Any], target: TargetSpec) -> int | None:
    """The fault type's own bound, when it declares one and its parameters are valid (the
    parameter checks have reported them otherwise)."""
    try:
        fault: Any = registry.faults.get(fault_type)
        bound = getattr(fault, "pods_at_most", None)
        if bound is None:
            return None
        return int(bound(decode(fault.Params, params), target))
    except (registry.RegistryError, ValidationError):
        return None
