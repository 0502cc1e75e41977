"""Which pods a pod fault hits: the `selector`/`mode`/`value` parameters every pod fault
shares, and drawing the victims with `env.rng` from `platform.pods(selector)` (sorted by
name), so a replay with the same seed picks the same slots.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal

from msgspec import Meta

from chaos.faults.base import FaultEnv, FaultNotEffective, FaultParams
from chaos.platforms.base import PlatformError, Pod
from chaos.spec.flow import flow
from chaos.spec.names import no_match
from chaos.spec.roles import component_matches, declared_pods, pod_labels
from chaos.spec.units import Duration

if TYPE_CHECKING:
    import random

    from chaos.spec.models import Component, TargetSpec


class Selection(FaultParams, kw_only=True, frozen=True):
    selector: Annotated[
        dict[str, str], Meta(description="label: value pairs every victim carries")
    ]
    mode: Literal["one", "all", "fixed", "percent"] = "one"
    value: Annotated[float | None, Meta(description="mode fixed: a count; percent: 0-100")] = None
    timeout: Annotated[Duration, Meta(description="how long verify waits for a replacement")] = 30.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode in ("fixed", "percent") and self.value is None:
            raise ValueError(f"value: required with mode {self.mode}")
        if self.mode in ("one", "all") and self.value is not None:
            raise ValueError(f"value: only with mode fixed or percent, not {self.mode}")
        if self.mode == "fixed" and (self.value is None or self.value < 1 or self.value % 1):
            raise ValueError("value: mode fixed needs a whole count >= 1")
        if self.mode == "percent" and not (self.value is not None and 0 < self.value <= 100):
            raise ValueError("value: mode percent needs 0 < value <= 100")



# ---------------------------------------------------------------- selection (pure)


def labels_of(component: Component) -> dict[str, str]:
    """The labels every pod of a component carries (`index` aside: it differs per pod)."""
    return {k: v for k, v in pod_labels(component, 0).items() if k != "index"}


def matching(target: TargetSpec, selector: dict[str, str]) -> list[Component]:
    """The components with at least one declared pod (or slot 0) the selector matches."""
    return [c for c in target.components if component_matches(c, selector)]


def choose(pods: list[Pod], params: Selection, rng: random.Random) -> list[Pod]:
    """The victims among `pods` (sorted by name first, so a replay picks the same)."""
    ordered = sorted(pods, key=lambda p: p.name)
    if not ordered:
        return []
    if params.mode == "all":
        return ordered
    if params.mode == "one":
        count = 1
    elif params.mode == "fixed":
        count = int(params.value or 1)
    else:
        count = max(1, math.floor(len(ordered) * (params.value or 0) / 100))
    return sorted(rng.sample(ordered, min(count, len(ordered))), key=lambda p: p.name)


def pods_at_most(params: Selection, target: TargetSpec) -> int:
    """The most pods one occurrence can pick on this target (replicas as the file says)."""
    total = len(declared_pods(target, params.selector))
    if params.mode == "all":
        return total
    if params.mode == "one":
        return min(1, total)
    if params.mode == "fixed":
        return min(int(params.value or 1), total)
    return min(total, max(1, math.floor(total * (params.value or 0) / 100)))


def selection_errors(params: Selection, target: TargetSpec) -> list[str]:
    found = matching(target, params.selector)
    if not found:
        return [f"selector: {no_match(target, params.selector)}"]
    if not any(c.replicas for c in found):
        return [f"selector: {flow(params.selector)} matches only components with 0 replicas"]
    return []


def victims(params: Selection, env: FaultEnv) -> list[Pod]:
    try:
        live = env.platform.pods(dict(params.selector))
    except PlatformError as exc:
        raise FaultNotEffective(str(exc)) from None
    victims = choose(live, params, env.rng)
    if not victims:
        raise FaultNotEffective(f"selector {flow(params.selector)} matches no live pod")
    return victims
