"""One wording for "the target has no such thing": a proxy name or a pod selector that
matches nothing. `validate` reports each on one line, in YAML notation, whichever layer
(the generic check in semantic.py or a fault type's own `validate`) finds it first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chaos.spec.flow import flow
from chaos.spec.roles import component_matches, pod_labels

if TYPE_CHECKING:
    from chaos.spec.models import Component, TargetSpec


def no_proxy(target: TargetSpec, name: str) -> str:
    known = ", ".join(p.name for p in target.proxies) or "none"
    return (
        f"target {target.metadata.name} has no proxy {flow(name)}, a role this experiment "
        f"needs (it has: {known})"
    )


def no_match(target: TargetSpec, selector: dict[str, str]) -> str:
    shown = ", ".join(f"{c.name} {flow(_labels(c))}" for c in target.components) or "none"
    return (
        f"{flow(selector)} matches no component of target {target.metadata.name}, a role this "
        f"experiment needs (it has: {shown})"
    )


def no_component(target: TargetSpec, name: str) -> str:
    known = ", ".join(c.name for c in target.components) or "none"
    return f"target {target.metadata.name} has no component {flow(name)} (it has: {known})"


def selects(component: Component, selector: dict[str, str]) -> bool:
    """Some pod of `component` carries every label of `selector` (`index` included)."""
    return component_matches(component, selector)


def _labels(component: Component) -> dict[str, str]:
    """A component's pod labels as a message shows them: `index` differs per pod, so the
    replica count stands for it."""
    return {k: v for k, v in pod_labels(component, 0).items() if k != "index"}


def missing_role(target: TargetSpec, field: str, wanted: object) -> str | None:
    """The one line for a fault parameter (`proxy` or `selector`) naming a role the target
    lacks, or None when the target has it."""
    if field == "proxy" and isinstance(wanted, str) and target.proxy(wanted) is None:
        return no_proxy(target, wanted)
    if field == "selector" and isinstance(wanted, dict) and wanted:
        selector = {str(k): str(v) for k, v in wanted.items()}
        if not any(selects(c, selector) for c in target.components):
            return no_match(target, selector)
    return None
