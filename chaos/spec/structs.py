"""Typed, frozen records decoded from plain data (YAML, JSON, test dicts) with msgspec.

msgspec rather than pydantic because `pipechaos validate` must start fast: msgspec imports
in a fraction of the time and builds its decoders lazily. Durations and rates are text in
files (`30s`, `200/s`): the decode hook parses them, and the records hold plain floats.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from msgspec.structs import force_setattr

from chaos.spec.units import Duration, Rate, parse_duration, parse_rate

S = TypeVar("S", bound="Strict")
ValidationError = msgspec.ValidationError


class Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A file section or a plugin's parameters: unknown keys are errors, values never change.

    Subclasses with required fields after optional ones repeat `kw_only=True` in their own
    class line (msgspec applies it per class).
    """

    @classmethod
    def prepare(cls, data: Any) -> Any:
        """Reshape raw data before decoding (shorthands, open parameter maps)."""
        return data

    def __post_init__(self) -> None:
        """Checks across fields: override, call the parent's, raise ValueError."""


def decode(model: type[S], data: Any) -> S:
    """Plain data to a typed record; raises ValidationError naming the failing path."""
    value = msgspec.convert(model.prepare(data), model, dec_hook=_dec_hook)
    _plain_floats(value)
    return value


def _dec_hook(kind: type, value: Any) -> Any:
    if kind is Duration:
        return Duration(parse_duration(value))
    if kind is Rate:
        return Rate(parse_rate(value))
    raise NotImplementedError(f"no decoder for {kind.__name__}")


def _plain_floats(value: Any) -> None:
    """Durations and rates become plain floats, so JSON encoders (orjson) take them."""
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            item = getattr(value, name)
            if type(item) in (Duration, Rate):
                force_setattr(value, name, float(item))
            else:
                _plain_floats(item)
    elif isinstance(value, list):
        for item in value:
            _plain_floats(item)
    elif isinstance(value, dict):
        for item in value.values():
            _plain_floats(item)
