"""A check is a pure function over recorded data; it never touches the target."""

from __future__ import annotations

from typing import Any, Protocol

from chaos.checks.model import History, Observations, Phases, Timeseries, Verdict


class Check(Protocol):
    """A checker plugin (entry-point group `pipechaos.checks`).

    Optional attribute `needs`: a tuple naming the inputs the check reads, among
    "history", "observations", "timeseries", "phases" (chaos.checks.runner.INPUTS). The
    runner then loads only those, and fails just this check when one is missing or
    corrupt. Without it a check gets (and needs) all four.
    """

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


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 bound`, `2 bounds`: summaries read as sentences."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
