"""A check registered by its light half: metadata and parameter validation now, the
numpy implementation imported on the first call.

`pipechaos validate` asks every invariant's check for `validate(params)`; importing the
implementations (numpy, hdrh) for that alone cost most of its start-up time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chaos.checks.base import Check
    from chaos.checks.model import History, Observations, Phases, Timeseries, Verdict


class Spec(Protocol):
    """The numpy-free half of a check: what `validate` and `pipechaos list` need."""

    name: str
    description: str
    needs: tuple[str, ...]

    def validate(self, params: dict[str, Any]) -> list[str]: ...


class LazyCheck:
    """A `Check` whose `__call__` imports `target` (`module:attribute`) on first use."""

    def __init__(self, spec: Spec, target: str) -> None:
        self.spec = spec
        self.name = spec.name
        self.description = spec.description
        self.needs = spec.needs
        self.params: tuple[dict[str, Any], ...] = getattr(spec, "params", ())
        self.params_schema: dict[str, Any] | None = getattr(spec, "params_schema", None)
        self.target = target
        self._impl: Check | None = None

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self.spec.validate(params)

    def load(self) -> Check:
        """The implementation; it validates with the same spec, so both always agree."""
        if self._impl is None:
            module, _, attr = self.target.partition(":")
            impl: Check = getattr(importlib.import_module(module), attr)
            self._impl = impl
        return self._impl

    def __call__(
        self,
        history: History,
        observations: Observations,
        timeseries: Timeseries,
        phases: Phases,
        params: dict[str, Any],
    ) -> Verdict:
        return self.load()(history, observations, timeseries, phases, params)

    def __repr__(self) -> str:
        return f"LazyCheck({self.name!r}, {self.target!r})"
