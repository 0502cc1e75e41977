"""The `producers` section of observations.json: what the reference producers counted
(targets/reference/producer: accepted, sent, deduplicated, resent, replayed, replays, ...),
per pod incarnation and summed, so an experiment shows from its own run data that the
producer's replay and resend paths ran.

Pure: from the raw hash `<stream>:producers` (pod name -> JSON) to the section. Absent
(no producer in the target) gives an empty section with zero sums.
"""

from __future__ import annotations

from typing import Any

from chaos.observers.pod_documents import pod_documents


def _flat(doc: dict[str, Any], prefix: str = "") -> dict[str, int]:
    """Integer fields, nested ones as `wal.syncs`."""
    out: dict[str, int] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, int) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = value
    return out


# Levels, not events: summing them over incarnations means nothing.
_LEVELS = ("backlog", "confirmed_offset", "wal.segments")


def producer_counts(raw: dict[str, str]) -> dict[str, Any]:
    """{pods: {name: {field: n}}, totals: {field: sum over pods}}; unreadable pods skipped."""
    pods: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for name, doc in pod_documents(raw).items():
        pods[name] = _flat(doc)
        for key, value in pods[name].items():
            if key not in _LEVELS:
                totals[key] = totals.get(key, 0) + value
    return {"scope": "deployment", "pods": pods, "totals": totals}


def backlog_drained(raw: dict[str, str]) -> bool:
    """Every producer slot reports nothing accepted and still unsent (`<stream>:producer-
    backlog`, slot -> count); no producer at all is drained too."""
    return all(str(v).strip() in ("0", "") for v in raw.values())
