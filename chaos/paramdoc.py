"""Parameter documentation for plugins whose parameters are not a msgspec Struct (checks
read theirs with `checks.params.Params`, probes read the target's `probes.settings`):
`pipechaos list` shows these beside the fault types' own `Params` fields.

A check describes its parameters once, as the JSON Schema editors read (`params_schema`);
`from_schema` reads the listing's entries off it, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any

from chaos.spec.units import DURATION_PATTERN

SCALARS = {"integer": "int", "number": "number", "boolean": "bool"}


def param(
    name: str, type_: str, default: Any = None, description: str = "", required: bool = False
) -> dict[str, Any]:
    """One entry, in the shape `pipechaos list --json` gives every parameter."""
    return {
        "name": name,
        "type": type_,
        "required": required,
        "default": None if required else default,
        "description": description,
    }


def type_text(schema: dict[str, Any]) -> str:
    """A parameter's type as `pipechaos list` writes it: duration, name, int, a|b,
    name | list[name], {min: number, per: duration}; a `pattern` other than a duration's
    is a `ratio` (the one such pattern the checks use: "3x baseline")."""
    if "anyOf" in schema:
        return " | ".join(type_text(alt) for alt in schema["anyOf"])
    if "enum" in schema and "type" not in schema:
        return "|".join(str(choice) for choice in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{type_text(schema.get('items', {}))}]"
    if kind == "object":
        fields = ", ".join(f"{k}: {type_text(v)}" for k, v in schema.get("properties", {}).items())
        return f"{{{fields}}}"
    if kind in SCALARS:
        return SCALARS[kind]
    if "pattern" in schema:
        return "duration" if schema["pattern"] == DURATION_PATTERN else "ratio"
    return "name"


def from_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The listing entries of a check's parameters, from its `params_schema`: one per
    property, in order, and one per `patternProperties` entry (named by its `title`); a
    property a pattern also covers (p99 beside `pNN | max`) is listed once, as the
    pattern."""
    patterns = schema.get("patternProperties", {})
    required = set(schema.get("required", ()))
    out = [
        param(name, type_text(sub), sub.get("default"), sub.get("description", ""),
              name in required)
        for name, sub in schema.get("properties", {}).items()
        if not any(re.fullmatch(p, name) for p in patterns)
    ]
    out += [
        param(sub.get("title", pattern), type_text(sub), sub.get("default"),
              sub.get("description", ""))
        for pattern, sub in patterns.items()
    ]
    return tuple(out)
