"""Measure the experiment's steady-state conditions now, through the registered probes.

Why apart from the probes' sampler: before the first fault and after the drain the run
asks once, and a probe that raises is a measured failure, not a crashed run.
"""

from __future__ import annotations

import logging
from typing import Any

from chaos import registry
from chaos.probes import family
from chaos.probes.base import ProbeEnv, ProbeError, declared_total
from chaos.probes.conditions import steady
from chaos.run.errors import one_line
from chaos.spec.models import Experiment

log = logging.getLogger("pipechaos")


def available_probes(exp: Experiment) -> dict[str, Any]:
    """Every registered probe that loads; one the experiment names is a warning if not."""
    probes = {}
    for name in registry.probes.names():
        try:
            probes[name] = registry.probes.get(name)
        except registry.RegistryError as exc:
            named = {c.probe for c in exp.steady_state}
            named |= {c.probe for c in exp.abort_when}
            (log.warning if name in named else log.debug)("probe unavailable: %s", exc)
    return probes


def measure_steady(exp: Experiment, env: ProbeEnv) -> list[dict[str, Any]]:
    """Each steady-state condition as {probe, value, bounds, ok, ...}."""

    def measure(name: str) -> float:
        try:
            return float(family.get(name, env.settings).measure(env))
        except ProbeError:
            raise
        except Exception as exc:
            raise ProbeError(one_line(exc)) from exc

    def total(name: str) -> float | None:  # what `min: all` means (validate checked it)
        try:
            probe = family.get(name, env.settings)
            return declared_total(probe, env.target, env.settings)
        except (registry.RegistryError, ProbeError):
            return None

    def comparator(name: str) -> Any:  # a member's own bound (prometheus)
        try:
            return getattr(family.get(name, env.settings), "comparator", None)
        except (registry.RegistryError, ProbeError):
            return None

    return steady(list(exp.steady_state), measure, total=total, comparator=comparator)
