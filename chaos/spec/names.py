"""One wording for "the target has no such thing": a proxy name or a pod selector that
matches nothing. `validate` reports each on one line, in YAML notation, whichever layer
(the generic check in semantic.py or a fault type's own `validate`) finds it first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chaos.spec.flow import flow

if TYPE_CHECKING:
    from chaos.spec.models import Component, TargetSpec


def pod_labels(component: Component) -> dict[str, str]:
    """The labels every platform gives a component's pods (besides `index`)."""
    return {"component": component.name, **component.labels}


def selects(component: Component, selector: dict[str, str]) -> bool:
    """Some pod of `component` carries every label of `selector`; `index` is the replica
    slot ("0", "1", ...), which every pod has."""
    labels = pod_labels(component)
    for key, want in selector.items():
        if key == "index" and key not in labels:
            if not (str(want).isdigit() and int(want) < max(1, component.replicas)):
                return False
        elif labels.get(key) != want:
            return False
    return True


def no_proxy(target: TargetSpec, name: str) -> str:
    known = ", ".join(p.name for p in target.proxies) or "none"
    return f"target {target.metadata.name} has no proxy {flow(name)} (it has: {known})"


def no_match(target: TargetSpec, selector: dict[str, str]) -> str:
    shown = ", ".join(f"{c.name} {flow(pod_labels(c))}" for c in target.components) or "none"
    return (
        f"{flow(selector)} matches no component of target {target.metadata.name} "
        f"(it has: {shown})"
    )


def no_component(target: TargetSpec, name: str) -> str:
    known = ", ".join(c.name for c in target.components) or "none"
    return f"target {target.metadata.name} has no component {flow(name)} (it has: {known})"
