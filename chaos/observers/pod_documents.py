"""The per-pod JSON documents the reference services publish in a redis hash (pod name ->
JSON of its counts), sorted by pod name; an unreadable entry (a pod killed mid-write, or
not an object) is skipped. Shared by the consumers' and the producers' sections."""

from __future__ import annotations

from typing import Any

import orjson


def pod_documents(raw: dict[str, str]) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for name in sorted(raw):
        try:
            doc = orjson.loads(raw[name])
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict):
            docs[name] = doc
    return docs
