"""Pods of a target's components: label selectors sent to the API server, Pod records back.

A selector from an experiment names role labels (`tier: worker`), maybe `component: NAME`
(the local platform's extra label) and `index` (the replica slot). `index` is sent as the
StatefulSet controller's `apps.kubernetes.io/pod-index`; `component` picks the target's
component, whose own labels become the server-side selector. So one list per component,
and only matching pods come back.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chaos.platforms.base import Pod

if TYPE_CHECKING:
    from chaos.spec.models import Component, TargetSpec

POD_INDEX = "apps.kubernetes.io/pod-index"
_ORDINAL = re.compile(r"-(\d+)$")


def label_selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def queries(target: TargetSpec, selector: dict[str, str]) -> list[tuple[Component, str]]:
    """(component, labelSelector) for every component the selector can match."""
    out = []
    for comp in target.components:
        wanted = dict(selector)
        if wanted.pop("component", comp.name) != comp.name:
            continue
        index = wanted.pop("index", None)
        if any(comp.labels.get(k, v) != v for k, v in wanted.items()):
            continue
        labels = {**comp.labels, **wanted}
        if index is not None:
            labels[POD_INDEX] = index
        out.append((comp, label_selector(labels)))
    return out


def is_ready(obj: Any) -> bool:
    conditions = (obj.status.conditions if obj.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def is_live(obj: Any) -> bool:
    """Not terminating and not finished."""
    phase = obj.status.phase if obj.status else None
    return obj.metadata.deletion_timestamp is None and phase not in ("Succeeded", "Failed")


def owner_uid(obj: Any) -> str | None:
    refs = obj.metadata.owner_references or []
    owner = next((r for r in refs if r.controller), refs[0] if refs else None)
    return str(owner.uid) if owner is not None else None


def owner_kind(obj: Any) -> str | None:
    refs = obj.metadata.owner_references or []
    return str(refs[0].kind) if refs else None


def ordinal(obj: Any) -> int | None:
    """The StatefulSet ordinal: its pod-index label, else the number ending the name."""
    labels = obj.metadata.labels or {}
    if labels.get(POD_INDEX, "").isdigit():
        return int(labels[POD_INDEX])
    if owner_kind(obj) == "StatefulSet":
        match = _ORDINAL.search(obj.metadata.name)
        return int(match.group(1)) if match else None
    return None


def container_of(obj: Any, component: Component) -> str | None:
    """The container faults act on: the one named like the component, else the first."""
    containers = obj.spec.containers if obj.spec else []
    names = [c.name for c in containers]
    if component.name in names:
        return component.name
    return names[0] if names else None


def _ns(stamp: datetime | None) -> int:
    return int(stamp.timestamp() * 1e9) if stamp is not None else 0


def to_pods(objs: list[Any], component: Component, access: dict[str, str]) -> list[Pod]:
    """Live pods as Pod records; slots: the ordinal, else the position by name."""
    live = sorted((o for o in objs if is_live(o)), key=lambda o: o.metadata.name)
    pods = []
    for position, obj in enumerate(live):
        index = ordinal(obj)
        index = position if index is None else index
        labels = {**(obj.metadata.labels or {}), "component": component.name,
                  "index": str(index)}
        pods.append(Pod(
            name=obj.metadata.name, component=component.name, index=index, labels=labels,
            ready=is_ready(obj), started_ns=_ns(obj.metadata.creation_timestamp),
            uid=str(obj.metadata.uid), namespace=obj.metadata.namespace,
            container=container_of(obj, component), access=dict(access),
            restarts=sum(int(c.restart_count or 0)
                         for c in (obj.status.container_statuses or [])) if obj.status else 0,
        ))
    return pods


def container_port(obj: Any, container: str | None, name: str) -> int | None:
    """The number of a named container port (the given container first, then any)."""
    containers = obj.spec.containers if obj.spec else []
    ordered = sorted(containers, key=lambda c: c.name != container)
    for c in ordered:
        for port in c.ports or []:
            if port.name == name:
                return int(port.container_port)
    return None


def container_of_name(obj: Any, preferred: str | None) -> str | None:
    """`preferred` when the pod has a container of that name, else its first container."""
    names = [c.name for c in (obj.spec.containers if obj.spec else [])]
    return preferred if preferred in names else (names[0] if names else None)
