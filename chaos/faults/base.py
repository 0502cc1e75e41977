"""The fault contract: a FaultType plans Actions; each Action applies, verifies, reverts.

Every Action's `record()` is written to the journal *before* `apply()` runs, and must be
enough to revert it later without a platform (`pipechaos rollback` after a SIGKILL):
URLs, pids, file paths, toxic names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from chaos.spec.structs import Strict

if TYPE_CHECKING:
    import random

    from chaos.platforms.base import Platform
    from chaos.spec.models import TargetSpec


class FaultNotEffective(Exception):
    """verify() found that the fault did not take effect (exit 3)."""


class FaultParams(Strict, frozen=True):
    """Base of every fault type's parameter model: unknown keys are errors, values frozen.
    Checks across fields go in `__post_init__` (call the parent's), raising ValueError."""


class FaultEnv(msgspec.Struct):
    """What a fault may use when its occurrence starts."""

    target: TargetSpec
    platform: Platform
    rng: random.Random  # seeded from the plan seed and the occurrence id
    run_dir: Path
    duration_s: float | None  # the occurrence's duration (None for instant faults)


class Action(Protocol):
    """An action may also carry `pod` (the Pod it kills, pauses or crashes): such actions
    count against an experiment's `safety.max_pods` when the occurrence starts."""

    fault: str  # the fault type's name, used by restore()

    def describe(self) -> str: ...
    def record(self) -> dict[str, Any]: ...
    def apply(self) -> None: ...
    def verify(self) -> None: ...
    def revert(self) -> None: ...


class FaultType(Protocol):
    name: str
    Params: type[FaultParams]
    instant: bool  # no duration: the fault is a one-shot event (pod.kill, pod.crash)
    description: str

    def validate(self, params: FaultParams, target: TargetSpec) -> list[str]:
        """Semantic errors against the target (field name first), [] when fine."""
        ...

    # Optional: `pods_at_most(params, target) -> int`, the most pods one occurrence can
    # touch on this target, lets `validate` refuse a fault over `safety.max_pods`.

    def actions(self, params: FaultParams, env: FaultEnv) -> list[Action]: ...

    def restore(self, record: dict[str, Any]) -> Action: ...
