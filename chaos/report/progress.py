"""What the user sees while a run goes: a rich live view on a terminal, log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO


class Progress(Protocol):
    def phase(self, name: str, ends_ns: int | None = None) -> None: ...
    def note(self, text: str) -> None: ...
    def tick(self, active: list[str]) -> None: ...
    def counters(self, values: dict[str, float | None]) -> None: ...
    def close(self) -> None: ...


def live_counters(
    latest: dict[str, float | None], load: Any, completed_base: float | None
) -> dict[str, float | None]:
    """Published (acknowledged), completed since the load started, and the lag, from the
    sampler's latest row and the load's per-second files; never used for a verdict."""
    done = latest.get("completed")
    try:
        published = float(load.published()) if load is not None else None
    except (OSError, ValueError):
        published = None
    return {"published": published,
            "completed": None if done is None else done - (completed_base or 0.0),
            "lag": latest.get("lag")}


def counters_text(values: dict[str, float | None]) -> str:
    """`published 250, completed 240, lag 3` (a counter the target cannot give: `-`)."""
    return ", ".join(f"{k} {'-' if v is None else int(v)}" for k, v in values.items())


class PlainProgress:
    """One timestamped line per phase change and per event (CI logs, pipes)."""

    def __init__(self, out: TextIO | None = None, every_s: float = 5.0) -> None:
        self.out = out or sys.stderr
        self.every_s = every_s  # counters: one line per interval, not one per tick
        self._counted_at = -float("inf")

    def _line(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.gmtime())
        self.out.write(f"{stamp} {text}\n")
        self.out.flush()

    def phase(self, name: str, ends_ns: int | None = None) -> None:
        self._line(f"phase {name}")

    def note(self, text: str) -> None:
        self._line(text)

    def tick(self, active: list[str]) -> None:
        pass

    def counters(self, values: dict[str, float | None]) -> None:
        now = time.monotonic()
        if now - self._counted_at >= self.every_s:
            self._counted_at = now
            self._line(counters_text(values))

    def close(self) -> None:
        pass


class LiveProgress:
    """Phase, time left and active faults, redrawn in place (rich, imported only here)."""

    def __init__(self, title: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=True)
        self.title = title
        self.name = "prepare"
        self.ends_ns: int | None = None
        self.active: list[str] = []
        self.notes: list[str] = []
        self.counts = ""
        self.live = Live(
            self._render(), console=self.console, refresh_per_second=4, transient=False
        )
        self.live.start()

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        left = ""
        if self.ends_ns is not None:
            left = f"{max(0.0, (self.ends_ns - time.time_ns()) / 1e9):5.1f}s left"
        table.add_row(f"[bold]{self.title}[/]", f"phase [cyan]{self.name}[/]", left)
        if self.counts:
            table.add_row("", "", self.counts)
        for a in self.active:
            table.add_row("", "[red]active[/]", a)
        for n in self.notes[-4:]:
            table.add_row("", "", f"[dim]{n}[/]")
        return table

    def phase(self, name: str, ends_ns: int | None = None) -> None:
        self.name, self.ends_ns = name, ends_ns
        self.live.update(self._render())

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.live.update(self._render())

    def tick(self, active: list[str]) -> None:
        self.active = active
        self.live.update(self._render())

    def counters(self, values: dict[str, float | None]) -> None:
        self.counts = counters_text(values)
        self.live.update(self._render())

    def close(self) -> None:
        self.live.stop()


def make_progress(title: str, quiet: bool = False) -> Progress:
    if not quiet and sys.stderr.isatty():
        return LiveProgress(title)
    return PlainProgress()
