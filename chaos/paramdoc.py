"""Parameter documentation for plugins whose parameters are not a msgspec Struct (checks
read theirs with `checks.params.Params`, probes read the target's `probes.settings`):
`pipechaos list` shows these beside the fault types' own `Params` fields."""

from __future__ import annotations

from typing import Any


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
