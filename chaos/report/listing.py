"""`pipechaos list`: every registered plugin, imported and described (fault parameters
come from each fault type's pydantic `Params` model)."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from chaos import registry
from chaos.spec.units import format_duration


def _doc(obj: Any) -> str:
    text = getattr(obj, "description", None) or (obj.__doc__ if isinstance(obj, type) else None)
    return str(text).strip().splitlines()[0] if text and str(text).strip() else ""


def type_name(annotation: Any, metadata: list[Any] | None = None) -> str:
    """Readable type: `duration`, `rate`, `blackhole|refuse`, `str | None`, `list[str]`."""
    for item in metadata or []:
        func = getattr(getattr(item, "func", None), "__name__", "")
        if func in ("parse_duration", "parse_rate"):
            return str(func).removeprefix("parse_")
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "|".join(str(a) for a in args)
    if origin is typing.Annotated:
        return type_name(args[0], list(args[1:]))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is not None:
        inner = ", ".join(type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _default(value: Any) -> Any:
    """Defaults as JSON-safe values; text with control characters shown escaped."""
    if isinstance(value, str) and not value.isprintable():
        return json.dumps(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _params(model: Any) -> list[dict[str, Any]]:
    out = []
    for name, info in getattr(model, "model_fields", {}).items():
        required = info.is_required()
        kind = type_name(info.annotation, list(info.metadata))
        default = None if required else _default(info.get_default(call_default_factory=True))
        if kind == "duration" and isinstance(default, (int, float)):
            default = format_duration(float(default))
        out.append(
            {
                "name": info.alias or name,
                "type": kind,
                "required": required,
                "default": default,
                "description": " ".join((info.description or "").split()),
            }
        )
    return out


def describe_all() -> dict[str, list[dict[str, Any]]]:
    listing: dict[str, list[dict[str, Any]]] = {}
    for kind, reg in registry.ALL.items():
        items = []
        for name in reg.names():
            item: dict[str, Any] = {"name": name, "target": reg.target_of(name)}
            try:
                plugin = reg.get(name)
            except registry.RegistryError as exc:
                item["error"] = str(exc).split(": ", 1)[-1]
                items.append(item)
                continue
            item["description"] = _doc(plugin)
            if kind == "faults":
                item["instant"] = bool(getattr(plugin, "instant", False))
                item["params"] = _params(getattr(plugin, "Params", None))
            items.append(item)
        listing[kind] = items
    return listing
