"""Roles: what an experiment asks of a target, read from the target file alone.

Experiments name roles (pod labels such as `tier: worker`, proxy names such as
`consumer-{index}-broker`); a target maps them to its own components. Every pod carries its
component's labels plus `component: NAME` and `index: SLOT` (its replica slot as a string),
on every platform, so these pure functions know from the file which pods a selector will
find, how many pods a target declares, and how to explain a role the target lacks.
"""

from __future__ import annotations

from collections.abc import Mapping

from chaos.spec.models import Component, TargetSpec

PLATFORM_LABELS = ("component", "index")


def pod_labels(component: Component, index: int) -> dict[str, str]:
    """The labels every platform gives replica `index` of `component` (the platform's
    own `component` and `index` win over a same-named label in the file)."""
    return {**component.labels, "component": component.name, "index": str(index)}


def declared_pods(target: TargetSpec, selector: Mapping[str, str]) -> list[tuple[Component, int]]:
    """Each (component, replica slot) the file declares whose labels include every pair."""
    return [
        (c, i)
        for c in target.components
        for i in range(c.replicas)
        if all(pod_labels(c, i).get(k) == v for k, v in selector.items())
    ]


def component_matches(component: Component, selector: Mapping[str, str]) -> bool:
    """Some pod of the component could carry these labels (a component scaled to 0
    replicas is judged by its slot 0)."""
    return any(
        all(pod_labels(component, i).get(k) == v for k, v in selector.items())
        for i in range(max(1, component.replicas))
    )


def matches_component(target: TargetSpec, selector: Mapping[str, str]) -> bool:
    return any(component_matches(c, selector) for c in target.components)


def selector_text(selector: Mapping[str, str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in selector.items())


def role_labels(target: TargetSpec) -> list[str]:
    """Every `key: value` role label the target's components carry (sorted, no platform
    labels), for 'have: ...' in messages."""
    return sorted({f"{k}: {v}" for c in target.components for k, v in c.labels.items()})


def missing_role(target: TargetSpec, field: str, wanted: object) -> str | None:
    """One line for a fault parameter that names a role the target lacks, or None.

    `field` is `proxy` (a proxy name is a role) or `selector` (role labels). The line names
    the target, the role the experiment needs and the roles the target has, so a user
    mapping their own pipeline sees at once what to add to the target file.
    """
    name = target.metadata.name
    if field == "proxy" and isinstance(wanted, str) and target.proxy(wanted) is None:
        have = ", ".join(p.name for p in target.proxies) or "no proxies"
        return (
            f"target {name} has no proxy {wanted!r} "
            f"(this experiment needs the role {wanted}; have: {have})"
        )
    if field == "selector" and isinstance(wanted, dict) and wanted:
        selector = {str(k): str(v) for k, v in wanted.items()}
        if matches_component(target, selector):
            return None
        have = ", ".join(role_labels(target)) or "no labels"
        rest = {k: v for k, v in selector.items() if k != "index"}
        found = [c.replicas for c in target.components if rest and component_matches(c, rest)]
        if "index" in selector and found and max(found) > 0:
            have = f"{selector_text(rest)} with index 0 to {max(found) - 1}"
        return (
            f"target {name} has no pod with {{{selector_text(selector)}}} "
            f"(this experiment needs the role {selector_text(selector)}; have: {have})"
        )
    return None
