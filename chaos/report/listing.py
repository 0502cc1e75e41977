"""`pipechaos list`: every registered plugin, imported and described (fault parameters
come from each fault type's `Params` record)."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

import msgspec

from chaos import registry
from chaos.spec.units import Duration, Rate, format_duration


def _doc(obj: Any) -> str:
    text = getattr(obj, "description", None) or (obj.__doc__ if isinstance(obj, type) else None)
    return str(text).strip().splitlines()[0] if text and str(text).strip() else ""


def type_name(annotation: Any) -> str:
    """Readable type: `duration`, `rate`, `blackhole|refuse`, `str | None`, `list[str]`."""
    if annotation in (Duration, Rate):
        return str(annotation.__name__).lower()
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "|".join(str(a) for a in args)
    if origin is typing.Annotated:
        return type_name(args[0])
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


def _description(annotation: Any) -> str:
    """The `Meta(description=...)` of an Annotated field type, if any."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return ""
    texts = [getattr(m, "description", None) for m in typing.get_args(annotation)[1:]]
    return " ".join(" ".join(t.split()) for t in texts if t)


def _params(model: Any) -> list[dict[str, Any]]:
    if not (isinstance(model, type) and issubclass(model, msgspec.Struct)):
        return []
    out = []
    for info in msgspec.structs.fields(model):
        required = info.required
        kind = type_name(info.type)
        default = None
        if not required:
            factory = info.default_factory
            default = _default(info.default if factory is msgspec.NODEFAULT else factory())
        if kind.startswith("duration") and isinstance(default, (int, float)):
            default = format_duration(float(default))
        out.append(
            {
                "name": info.encode_name,
                "type": kind,
                "required": required,
                "default": default,
                "description": _description(info.type),
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
