"""Offered vs achieved rate per second: a streaming CSV per process and its merge.

A row for second s (counted from t0) is written once s is over, so memory holds only the
current and previous second however long the run.  Columns: offered (slots due in that
second), sent (publishes that started), ok / fail / info (completions in that second).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

COLUMNS = ("offered", "sent", "ok", "fail", "info")
HEADER = "second," + ",".join(COLUMNS) + "\n"


class RateRecorder:
    def __init__(self, path: Path | TextIO, t0: int) -> None:
        """`path`: the CSV file, or any text sink (a distributed worker's goes to the master)."""
        self._file: TextIO = path.open("w", buffering=1 << 14) if isinstance(path, Path) else path
        self._file.write(HEADER)
        self.t0 = t0
        self._rows: dict[int, list[int]] = {}
        self._written = 0  # seconds below this are on disk

    def count(self, column: str, t_ns: int) -> None:
        second = max(0, (t_ns - self.t0) // 1_000_000_000)
        row = self._rows.get(second)
        if row is None:
            if second < self._written:  # a straggler for a row already written
                second = self._written
                row = self._rows.setdefault(second, [0] * len(COLUMNS))
            else:
                row = self._rows[second] = [0] * len(COLUMNS)
        row[COLUMNS.index(column)] += 1

    def roll(self, now_ns: int) -> None:
        """Write every finished second (those at least one second old)."""
        current = (now_ns - self.t0) // 1_000_000_000
        self._write_until(current - 1)

    def close(self) -> None:
        if not self._file.closed:
            self._write_until(max(self._rows, default=-1) + 1)
            self._file.close()

    def _write_until(self, end: int) -> None:
        while self._written < end:
            row = self._rows.pop(self._written, None) or [0] * len(COLUMNS)
            self._file.write(f"{self._written}," + ",".join(map(str, row)) + "\n")
            self._written += 1
        self._file.flush()


def merge_rates(paths: Iterable[Path]) -> list[dict[str, int]]:
    """Sum the per-second rows of several processes: [{second, offered, sent, ok, ...}]."""
    total: dict[int, dict[str, int]] = {}
    for path in paths:
        if not path.exists():
            continue
        with path.open(newline="") as f:
            for raw in csv.DictReader(f):
                row = _parse(raw)
                if row is None:
                    continue  # a torn last line from a killed process
                acc = total.setdefault(row["second"], dict.fromkeys(COLUMNS, 0))
                for c in COLUMNS:
                    acc[c] += row[c]
    return [{"second": s, **total[s]} for s in sorted(total)]


def _parse(raw: dict[str, Any]) -> dict[str, int] | None:
    try:
        return {k: int(raw[k]) for k in ("second", *COLUMNS)}
    except (TypeError, ValueError, KeyError):
        return None
