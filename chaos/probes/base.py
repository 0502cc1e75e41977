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
