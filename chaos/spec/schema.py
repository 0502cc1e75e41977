"""JSON Schema of the file formats, for editors (yaml-language-server modeline)."""

from __future__ import annotations

from typing import Any

import msgspec

from chaos.spec.models import Experiment, FaultSpec, InvariantSpec, TargetSpec
from chaos.spec.units import DURATION_PATTERN, RATE_PATTERN, Duration, Rate, format_duration

SCHEMA_ID = "https://pipechaos.dev/schema/v1/{kind}.json"


def schema(kind: str) -> dict[str, Any]:
    model = {"experiment": Experiment, "target": TargetSpec}[kind]
    out = msgspec.json.schema(model, schema_hook=type_schema)
    defs = out.get("$defs", {})
    for entry in (FaultSpec, InvariantSpec):
        if entry.__name__ in defs:
            open_params(defs[entry.__name__])
    if "InvariantSpec" in defs:  # `- delivery` is short for `- {check: delivery}`
        items = defs["Experiment"]["properties"]["invariants"]["items"]
        defs["Experiment"]["properties"]["invariants"]["items"] = {
            "anyOf": [{"type": "string"}, items]
        }
    for record in defs.values():
        for prop in record.get("properties", {}).values():
            text_default(prop)
    root = defs.pop(model.__name__)  # the document itself, not a $ref to it
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID.format(kind=kind),
        **root,
        "$defs": defs,
    }


def type_schema(kind: type) -> dict[str, Any]:
    """Durations and rates are text in files."""
    if kind is Duration:
        return {"type": "string", "pattern": DURATION_PATTERN, "examples": ["30s"]}
    if kind is Rate:
        return {"type": "string", "pattern": RATE_PATTERN, "examples": ["200/s"]}
    raise NotImplementedError(kind)


def text_default(prop: dict[str, Any]) -> None:
    """A duration's default is shown as the file would write it (`30s`, not 30.0)."""
    arms = [prop, *prop.get("anyOf", [])]
    if isinstance(prop.get("default"), (int, float)) and any(
        a.get("pattern") == DURATION_PATTERN for a in arms
    ):
        prop["default"] = format_duration(float(prop["default"]))


def open_params(entry: dict[str, Any]) -> None:
    """An entry's other keys are the plugin's parameters, written beside its own keys."""
    entry.get("properties", {}).pop("params", None)
    entry["additionalProperties"] = True
