"""The target's observer for one run: built once, on first use, and prepared before any
fault so bad settings, a bad query or an unreachable database end the run early."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaos import registry
from chaos.observers.base import ObserverError
from chaos.platforms.base import Platform
from chaos.run.errors import Stop
from chaos.run.rundir import resolve_all
from chaos.spec.models import TargetSpec


class RunObserver:
    def __init__(self, target: TargetSpec, platform: Callable[[], Platform]) -> None:
        self.target = target
        self.platform = platform  # the platform exists only once the run has prepared it
        self._obj: Any = None

    def get(self) -> Any:
        """The target's observer (one instance per run), or None without one."""
        ref = self.target.observer
        if ref is None:
            return None
        if self._obj is None:
            cls = registry.observers.get(ref.type)
            platform = self.platform()
            self._obj = cls(resolve_all(ref.settings, platform.resolve), platform)
        return self._obj

    def prepare(self) -> None:
        """Build the observer and let it read its source once: a failure ends the run
        here (Stop error, exit 3), before any fault."""
        kind = self.target.observer.type if self.target.observer else None
        try:
            observer = self.get()
            prepare = getattr(observer, "prepare", None)
            if callable(prepare):
                prepare()
            if observer is not None and hasattr(observer, "snapshot"):
                observer.snapshot()  # run-scoped totals: the deployment may outlive many runs
        except (ObserverError, ValueError) as exc:
            raise Stop("error", f"observer {kind}: {exc}") from None
