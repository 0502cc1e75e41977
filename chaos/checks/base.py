"""A check is a pure function over recorded data; it never touches the target."""

from __future__ import annotations

from typing import Any, Protocol

from chaos.checks.model import History, Observations, Phases, Timeseries, Verdict


class Check(Protocol):
    name: str
    description: str

    def __call__(
        self,
        history: History,
        observations: Observations,
        timeseries: Timeseries,
        phases: Phases,
        params: dict[str, Any],
    ) -> Verdict: ...

    def validate(self, params: dict[str, Any]) -> list[str]:
        """Errors in the invariant's parameters (field first), [] when fine."""
