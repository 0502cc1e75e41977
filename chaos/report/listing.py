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
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        keys = (f.encode_name for f in msgspec.structs.fields(annotation))
        return "{" + ", ".join(f"{k}: ..." for k in keys) + "}"
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _default(value: Any) -> Any:
    """Defaults as JSON-safe values (the text view shows them in YAML notation)."""
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


def params_of(model: Any) -> list[dict[str, Any]]:
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
                item["params"] = params_of(getattr(plugin, "Params", None))
            else:  # checks: invariant parameters; probes: the probes.settings they read
                item["params"] = [dict(p) for p in getattr(plugin, "params", ()) or ()]
            items.append(item)
        listing[kind] = items
    return listing


HEADINGS = {"checks": "parameters", "probes": "reads probes.settings"}


def listing_lines(listing: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The text of `pipechaos list`: each plugin, then its parameters in YAML notation."""
    from chaos.spec.flow import flow

    lines: list[str] = []
    for kind, items in listing.items():
        lines.append(f"{kind}:")
        for item in items:
            lines.append(f"  {item['name']:<24} {item.get('description') or ''}".rstrip())
            params = item.get("params", [])
            if params and kind in HEADINGS:
                lines.append(f"      ({HEADINGS[kind]})")
            for param in params:
                default = "" if param["required"] else f" = {flow(param['default'])}"
                if not param["required"] and param["default"] is None:
                    default = " (optional)"
                text = f"  {param['description']}" if param.get("description") else ""
                lines.append(f"      {param['name']}: {param['type']}{default}{text}")
            if item.get("error"):
                lines.append(f"      (unavailable: {item['error']})")
    return lines
