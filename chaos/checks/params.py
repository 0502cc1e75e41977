"""Invariant parameters parsed once, with field-first messages.

`validate` and `__call__` of every check share one parser, so a parameter accepted at
validation time is exactly the one the check later uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from chaos.spec.units import parse_duration


class ParamError(ValueError):
    """Invalid invariant parameters; the message lists every problem, one per line."""


def show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


class Bound(msgspec.Struct, frozen=True):
    """An upper bound: `seconds` absolute, or `factor` x the baseline value plus `plus`."""

    seconds: float | None = None
    factor: float | None = None
    plus: float = 0.0

    @property
    def relative(self) -> bool:
        return self.factor is not None

    def limit(self, baseline: float | None) -> float | None:
        """The bound in seconds; None when relative and the baseline is unknown."""
        if self.factor is None:
            return self.seconds
        if baseline is None:
            return None
        return self.factor * baseline + self.plus

    def describe(self) -> str:
        if self.factor is None:
            return f"{self.seconds:g}s"
        extra = f" + {self.plus:g}s" if self.plus else ""
        return f"{self.factor:g}x baseline{extra}"


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*baseline\s*(?:\+\s*(.+?))?\s*$")
RELATIVE_PATTERN = _RELATIVE.pattern


def parse_bound(value: Any) -> Bound:
    """`200ms`, `3x baseline` or `3x baseline + 50ms`."""
    if isinstance(value, str):
        match = _RELATIVE.match(value)
        if match:
            plus = parse_duration(match.group(2)) if match.group(2) else 0.0
            factor = float(match.group(1))
            if factor > 0:
                return Bound(factor=factor, plus=plus)
        else:
            try:
                return Bound(seconds=parse_duration(value))
            except ValueError:
                pass
    raise ValueError(
        f'must be a duration like 200ms or a ratio like "3x baseline", got {show(value)}'
    )


class Params:
    """Reads typed values out of an invariant's raw parameters, collecting errors."""

    def __init__(self, raw: dict[str, Any], known: Iterable[str], extra: str | None = None):
        self.raw = raw
        self.errors: list[str] = []
        pattern = re.compile(extra) if extra else None
        allowed = sorted(known)
        for key in raw:
            if key in allowed or (pattern is not None and pattern.fullmatch(str(key))):
                continue
            self.errors.append(
                f"{key}: unknown parameter (known: {', '.join(allowed) or 'none'})"
            )

    def fail(self, key: str, message: str) -> None:
        self.errors.append(f"{key}: {message}")

    def duration(self, key: str, default: float | None) -> float | None:
        if key not in self.raw:
            return default
        try:
            return parse_duration(self.raw[key])
        except ValueError as exc:
            self.fail(key, str(exc))
            return default

    def bound(self, key: str) -> Bound | None:
        if key not in self.raw:
            return None
        try:
            return parse_bound(self.raw[key])
        except ValueError as exc:
            self.fail(key, str(exc))
            return None

    def integer(self, key: str, default: int | None, minimum: int = 0) -> int | None:
        if key not in self.raw:
            return default
        value = self.raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(key, f"must be an integer >= {minimum}, got {show(value)}")
            return default
        return value

    def number(self, key: str, default: float, minimum: float = 0.0) -> float:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            self.fail(key, f"must be a number >= {minimum:g}, got {show(value)}")
            return default
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, got {show(value)}")
            return default
        return value

    def choice(self, key: str, default: str, choices: Iterable[str]) -> str:
        options = list(choices)
        value = self.raw.get(key, default)
        if value not in options:
            self.fail(key, f"must be one of {', '.join(options)}, got {show(value)}")
            return default
        return str(value)

    def names(self, key: str, default: list[str] | None) -> list[str] | None:
        """A name or a list of names."""
        if key not in self.raw:
            return default
        value = self.raw[key]
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return list(value)
        self.fail(key, f"must be a name or a non-empty list of names, got {show(value)}")
        return default

    def mapping(self, key: str) -> dict[str, Any] | None:
        if key not in self.raw:
            return None
        value = self.raw[key]
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping, got {show(value)}")
            return None
        return value

    def done(self) -> None:
        """Raise every collected error at once."""
        if self.errors:
            raise ParamError("; ".join(self.errors))
