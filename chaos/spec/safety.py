"""An experiment's `safety` block against its target, refused by `validate` (exit 2) before
anything starts: the namespace allow-list and the blast-radius cap (`max_pods`).

`chaos.spec.semantic` asks these once per file (and per decoded fault); the run enforces
`max_pods` again when each occurrence starts (chaos/run/faults.py), counting the pods its
actions really picked plus those still held by active faults.
"""

from __future__ import annotations

from typing import Any

from chaos import registry
from chaos.spec.models import Experiment, TargetSpec


def namespace_problem(experiment: Experiment, target: TargetSpec) -> str | None:
    """Why `safety.allowed_namespaces` refuses this target, or None."""
    allowed = experiment.safety.allowed_namespaces
    if not allowed:
        return None
    namespace = namespace_of(target)
    platform = target.platform.type
    if namespace is None:
        return (
            f"platform {platform!r} of target {target.metadata.name!r} names no namespace, "
            "so the allow-list cannot be checked"
        )
    if namespace not in allowed:
        return (
            f"target {target.metadata.name!r} runs in namespace {namespace!r} "
            f"(platform {platform}), which is not allowed here ({', '.join(allowed)})"
        )
    return None


def namespace_of(target: TargetSpec) -> str | None:
    """The target's namespace as its platform reports it (None: it has none)."""
    try:
        platform: Any = registry.platforms.get(target.platform.type)
    except registry.RegistryError:
        return None  # the target check has reported the unknown platform already
    namespace = getattr(platform, "namespace", None)
    value = namespace(target) if callable(namespace) else None
    return value if isinstance(value, str) else None


def pod_cap_problem(
    fault_type: str, fault: Any, params: Any, target: TargetSpec, cap: int | None
) -> str | None:
    """Why `safety.max_pods` refuses one fault (its decoded `params`), or None. Only fault
    types that declare `pods_at_most(params, target)` are bounded here."""
    bound = getattr(fault, "pods_at_most", None)
    if cap is None or bound is None:
        return None
    most = int(bound(params, target))
    if most <= cap:
        return None
    return (
        f"{fault_type} may touch up to {most} pods on target {target.metadata.name!r}; "
        f"safety.max_pods is {cap}"
    )
