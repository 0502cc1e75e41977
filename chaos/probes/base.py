"""A probe is a named live measurement of the target (lag, pending, pods_ready, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chaos.platforms.base import Platform
    from chaos.spec.models import TargetSpec


class ProbeError(Exception):
    """The measurement could not be taken (counts as a failed sample, not a crash)."""


@dataclass
class ProbeEnv:
    target: TargetSpec
    platform: Platform
    settings: dict[str, Any]  # the target's probes.settings, references resolved


class Probe(Protocol):
    name: str
    description: str

    def measure(self, env: ProbeEnv) -> float: ...


def declared_total(probe: object, target: TargetSpec, settings: dict[str, Any]) -> float | None:
    """What `all` means in a steady-state bound on this probe: the total the target file
    declares (pods_ready: its pods), or None when the probe has no such total. A probe
    opts in with `declared(target, settings) -> float`; settings may be unresolved."""
    declared = getattr(probe, "declared", None)
    return float(declared(target, settings)) if callable(declared) else None
