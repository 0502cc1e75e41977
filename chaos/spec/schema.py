"""JSON Schema of the file formats, for editors (yaml-language-server modeline).

Fault, invariant and probe entries are typed per plugin, from the registries: for each
fault type an `if: {type: X} then: {X's parameters, nothing else}` branch built from its
`Params` record, the same for each check from its `params_schema`, and the known names
offered with their descriptions. A name no registered plugin has stays open (a plugin the
editor's schema does not know is still valid). Not imported by `validate`: it loads every
plugin to describe it.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from chaos import registry
from chaos.spec.models import Experiment, FaultSpec, InvariantSpec, TargetSpec
from chaos.spec.units import DURATION_PATTERN, RATE_PATTERN, Duration, Rate, format_duration

SCHEMA_ID = "https://pipechaos.dev/schema/v1/{kind}.json"
Schema = dict[str, Any]


def schema(kind: str, builtin_only: bool = False) -> Schema:
    """The schema of `kind` ("experiment" or "target"). `builtin_only`: describe only the
    plugins pipechaos itself registers (the stored docs/schema files), not installed ones."""
    model = {"experiment": Experiment, "target": TargetSpec}[kind]
    faults = _fault_params(builtin_only) if kind == "experiment" else {}
    (_, *refs), defs = msgspec.json.schema_components(
        [model, *faults.values()], schema_hook=type_schema, ref_template="#/$defs/{name}"
    )
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
    if kind == "experiment":
        _type_entries(defs, faults, refs, builtin_only)
    root = defs.pop(model.__name__)  # the document itself, not a $ref to it
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID.format(kind=kind),
        **root,
        "$defs": defs,
    }


def type_schema(kind: type) -> Schema:
    """Durations and rates are text in files."""
    if kind is Duration:
        return {"type": "string", "pattern": DURATION_PATTERN, "examples": ["30s"]}
    if kind is Rate:
        return {"type": "string", "pattern": RATE_PATTERN, "examples": ["200/s"]}
    raise NotImplementedError(kind)


def text_default(prop: Schema) -> None:
    """A duration's default is shown as the file would write it (`30s`, not 30.0)."""
    arms = [prop, *prop.get("anyOf", [])]
    if isinstance(prop.get("default"), (int, float)) and any(
        a.get("pattern") == DURATION_PATTERN for a in arms
    ):
        prop["default"] = format_duration(float(prop["default"]))


def open_params(entry: Schema) -> None:
    """An entry's other keys are the plugin's parameters, written beside its own keys."""
    entry.get("properties", {}).pop("params", None)
    entry["additionalProperties"] = True


# ---------------------------------------------------------------- per plugin


def _names(reg: registry.Registry[Any], builtin_only: bool) -> list[str]:
    """Registered names; with builtin_only, those whose entry point is in pipechaos."""
    return [n for n in reg.names() if not builtin_only or reg.target_of(n).startswith("chaos.")]


def _plugins(reg: registry.Registry[Any], builtin_only: bool) -> dict[str, Any]:
    out = {}
    for name in _names(reg, builtin_only):
        try:
            out[name] = reg.get(name)
        except registry.RegistryError:
            continue  # a broken plugin is left open here; `validate` names the problem
    return out


def _describe(plugin: Any) -> str:
    text = str(getattr(plugin, "description", "") or "").strip()
    return text.splitlines()[0] if text else ""


def _fault_params(builtin_only: bool) -> dict[str, type]:
    """Fault type -> its Params record, for those msgspec can describe."""
    out: dict[str, type] = {}
    for name, fault in _plugins(registry.faults, builtin_only).items():
        params = getattr(fault, "Params", None)
        try:
            msgspec.json.schema(params, schema_hook=type_schema)
        except (TypeError, NotImplementedError, ValueError):
            continue  # left open: its own validate still checks it
        out[name] = params  # type: ignore[assignment]
    return out


def _known(text: str, entries: dict[str, str]) -> Schema:
    """A name field: the known names offered (with what each does), any other allowed."""
    return {
        "description": text,
        "type": "string",
        "anyOf": [*({"const": n, "description": d} for n, d in entries.items()),
                  {"type": "string"}],
    }  # fmt: skip


def _branch(key: str, name: str, own: tuple[str, ...], params: Schema, text: str) -> Schema:
    """if `key` is `name`: its own keys plus exactly the plugin's parameters."""
    then: Schema = {
        "description": text,
        "properties": {**{k: True for k in own}, **params.get("properties", {})},
        "additionalProperties": False,
    }
    for extra in ("required", "patternProperties"):
        if params.get(extra):
            then[extra] = params[extra]
    return {"if": {"properties": {key: {"const": name}}, "required": [key]}, "then": then}


def _type_entries(
    defs: dict[str, Schema], faults: dict[str, type], refs: list[Schema], builtin_only: bool
) -> None:
    fault_plugins = _plugins(registry.faults, builtin_only)
    spec = defs["FaultSpec"]
    spec["properties"]["type"] = _known(
        "the fault type (pipechaos list)", {n: _describe(f) for n, f in fault_plugins.items()}
    )
    branches = []
    for name, ref in zip(faults, refs, strict=True):
        record = defs[ref["$ref"].rsplit("/", 1)[1]]
        branches.append(_branch("type", name, FaultSpec.OWN, record,
                                _describe(fault_plugins[name])))  # fmt: skip
    spec["allOf"] = branches

    checks = _plugins(registry.checks, builtin_only)
    entry = defs["InvariantSpec"]
    names = {n: _describe(c) for n, c in checks.items()}
    entry["properties"]["check"] = _known("the check (pipechaos list)", names)
    entry["allOf"] = [
        _branch("check", name, InvariantSpec.OWN, check.params_schema, _describe(check))
        for name, check in checks.items()
        if isinstance(getattr(check, "params_schema", None), dict)
    ]
    shorthand = defs["Experiment"]["properties"]["invariants"]["items"]["anyOf"]
    shorthand[0] = _known("a check with its default parameters", names)

    probes = {n: _describe(p) for n, p in _plugins(registry.probes, builtin_only).items()}
    for model in ("ProbeCheck", "AbortCondition"):
        if model in defs:
            defs[model]["properties"]["probe"] = _known("the probe (pipechaos list)", probes)

    inlined = {ref["$ref"].rsplit("/", 1)[1] for ref in refs}  # into the branches above
    text = json.dumps({k: v for k, v in defs.items() if k not in inlined})
    for unused in inlined:
        if f'"#/$defs/{unused}"' not in text:
            defs.pop(unused, None)
