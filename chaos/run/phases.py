"""The run's phases (prepare, baseline, fault, recovery, drain, observe, check, report):
each edge journaled, its times in result.json, the progress view told.

Why one place: a run that ends early must close every phase still open, exactly once.
"""

from __future__ import annotations

from chaos.report.progress import Progress
from chaos.report.result import RunResult
from chaos.run.journal import Journal


class Phases:
    def __init__(self, journal: Journal, result: RunResult, progress: Progress) -> None:
        self.journal, self.result, self.progress = journal, result, progress
        self.open: dict[str, int] = {}  # phase -> start (ns)

    def start(self, name: str, ends_ns: int | None = None) -> None:
        now = self.journal.write("phase", phase=name, edge="start")["t"]
        self.open[name] = now
        self.result.phases[name] = {"start": now, "end": None}
        self.progress.phase(name, ends_ns)

    def end(self, name: str) -> None:
        if name in self.open:
            now = self.journal.write("phase", phase=name, edge="end")["t"]
            self.result.phases[name]["end"] = now
            del self.open[name]

    def end_all(self) -> None:
        for name in list(self.open):
            self.end(name)

    def started(self, name: str) -> bool:
        """Started at some point in this run (open or ended)."""
        return name in self.result.phases
