"""Values shown the way users write them in experiment files: YAML flow notation
(`{app: consumer, index: "0"}`, `[fault, recovery]`), never Python reprs, in every
message, plan and description a user reads."""

from __future__ import annotations

import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./@-]*")  # safe unquoted in flow context
_NUMBER = re.compile(r"[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+")
_RESERVED = frozenset(
    ("true", "false", "yes", "no", "on", "off", "null", "~")
)


def flow(value: Any) -> str:
    """One value in YAML flow notation, on one line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return _scalar(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(str(k))}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return _scalar(str(value))


def _scalar(text: str) -> str:
    plain = _PLAIN.fullmatch(text) and not _NUMBER.fullmatch(text)
    if plain and text.lower() not in _RESERVED:
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'
