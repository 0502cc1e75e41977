"""A check's parameters are described once (its JSON Schema); `pipechaos list` reads its
entries off that schema."""

from __future__ import annotations

from chaos import registry
from chaos.checks.specs import BOUND, PHASES, SUMS
from chaos.paramdoc import from_schema, type_text
from chaos.spec.units import DURATION_PATTERN


def test_type_text_names_each_schema_shape() -> None:
    one_or_many = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    assert type_text(one_or_many) == "name | list[name]"
    assert type_text({"type": "string", "pattern": DURATION_PATTERN}) == "duration"
    assert type_text(BOUND) == "duration | ratio"
    assert type_text({"enum": ["invoke", "ok"]}) == "invoke|ok"
    assert type_text({"type": "integer"}) == "int"
    assert type_text({"type": "boolean"}) == "bool"
    nested = {"type": "object", "properties": {"min": {"type": "number"},
                                               "per": {"pattern": DURATION_PATTERN}}}
    assert type_text(nested) == "{min: number, per: duration}"


def test_pattern_properties_are_listed_once_by_title() -> None:
    schema = {"properties": {"p99": BOUND, "phase": {"type": "string"}},
              "patternProperties": {"^p\\d+$": {**BOUND, "title": "pNN"}},
              "required": ["phase"]}
    entries = {e["name"]: e for e in from_schema(schema)}
    assert set(entries) == {"phase", "pNN"}
    assert entries["phase"]["required"] and entries["pNN"]["type"] == "duration | ratio"


def test_every_builtin_check_lists_what_its_schema_says() -> None:
    for name in ("delivery", "effects", "saga", "dlq", "latency", "recovery"):
        check = registry.checks.get(name)
        assert check.params_schema is not None
        assert tuple(check.params) == from_schema(check.params_schema), name
    latency = {e["name"]: e for e in registry.checks.get("latency").params}
    assert set(latency) == {"pNN | max", "phase", "from"}
    assert all(p in latency["phase"]["description"] for p in PHASES)
    saga = {e["name"]: e for e in registry.checks.get("saga").params}
    assert saga["within"]["default"] == "30s"
    assert all(s in saga["sums"]["description"] for s in SUMS)
    recovery = {e["name"]: e for e in registry.checks.get("recovery").params}
    assert recovery["metrics"]["default"] == ["lag", "pending"]
