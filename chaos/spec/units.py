"""Durations (`500ms`, `30s`, `2m`, `1m30s`) and rates (`200/s`, `600/m`) as typed values."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

_DURATION = re.compile(r"^\s*((?:\d+(?:\.\d+)?\s*(?:ms|s|m|h)\s*)+)$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|m)\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from `30s`-style text; bare numbers are refused (units are explicit)."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return sum(float(n) * _SCALE[u] for n, u in _PART.findall(value))
    raise ValueError(f"must be a duration like 30s, got {_show(value)}")


def parse_rate(value: Any) -> float:
    """Events per second from `200/s` or `600/m`; must be positive."""
    if isinstance(value, str):
        match = _RATE.match(value)
        if match:
            per_second = float(match.group(1)) / (1.0 if match.group(2) == "s" else 60.0)
            if per_second > 0:
                return per_second
    raise ValueError(f"must be a positive rate like 200/s, got {_show(value)}")


def format_duration(seconds: float) -> str:
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    return f"{seconds:g}s"


def _show(value: Any) -> str:
    """The value as the file wrote it (YAML spellings: null, true)."""
    if isinstance(value, str):
        return f'"{value}"'
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    return repr(value)


DURATION_PATTERN = _DURATION.pattern
RATE_PATTERN = _RATE.pattern

if TYPE_CHECKING:
    Duration = float
    Rate = float
else:

    class Duration(float):
        """Seconds, written as text like `30s` in files (parsed by `parse_duration`)."""

    class Rate(float):
        """Events per second, written as text like `200/s` in files (`parse_rate`)."""
