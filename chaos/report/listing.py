"""`pipechaos list`: every registered plugin, imported and described (fault parameters
come from each fault type's pydantic `Params` model)."""

from __future__ import annotations

from typing import Any

from chaos import registry


def _doc(obj: Any) -> str:
    text = getattr(obj, "description", None) or (obj.__doc__ if isinstance(obj, type) else None)
    return (text or "").strip().splitlines()[0] if text and str(text).strip() else ""


def _params(model: Any) -> list[dict[str, Any]]:
    out = []
    for name, info in getattr(model, "model_fields", {}).items():
        annotation = info.annotation
        type_name = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
        out.append(
            {
                "name": info.alias or name,
                "type": type_name,
                "required": info.is_required(),
                "default": None
                if info.is_required()
                else info.get_default(call_default_factory=True),
                "description": info.description or "",
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
