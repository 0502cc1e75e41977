"""JSON Schema of the file formats, for editors (yaml-language-server modeline)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from chaos.spec.models import Experiment, TargetSpec

SCHEMA_ID = "https://pipechaos.dev/schema/v1/{kind}.json"


def schema(kind: str) -> dict[str, Any]:
    model: type[BaseModel] = {"experiment": Experiment, "target": TargetSpec}[kind]  # type: ignore[dict-item]
    out = model.model_json_schema(by_alias=True)
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["$id"] = SCHEMA_ID.format(kind=kind)
    return out
