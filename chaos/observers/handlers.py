"""Who handled each order, and what fencing stopped: two extra observations.json sections.

Why: a saga can be run by several consumers (one paused or cut off, another that
reclaimed its entry), and the fault to blame for a broken saga is the one that touched
one of them (chaos.checks.blame). The reference consumers append every pod that ran an
order's saga to its end to `<stream>:handlers:<run_id>` (order id -> "pod,pod"), and
note every saga they abandoned after losing the entry in `<stream>:fenced:<run_id>`
(order id -> "pod|stage"); the services count the stale requests they refused.
Both sections are optional: readers that do not know them ignore them.
"""

from __future__ import annotations

from typing import Any

import redis


def handled_by(r: redis.Redis, stream: str, run_id: str) -> dict[str, Any]:
    """`{"pods": [name, ...], "order_id": [...], "pod": [...]}`: one row per (order, pod),
    sorted by order id; `pod` indexes `pods`."""
    raw: Any = r.hgetall(f"{stream}:handlers:{run_id}")
    index: dict[str, int] = {}
    rows: list[tuple[int, int]] = []
    for key, value in raw.items():
        try:
            oid = int(key)
        except ValueError:
            continue
        for name in str(value).split(","):
            if name:
                rows.append((oid, index.setdefault(name, len(index))))
    pods = sorted(index, key=index.__getitem__)
    rows.sort()
    return {"pods": pods, "order_id": [o for o, _ in rows], "pod": [p for _, p in rows]}


def fencing(r: redis.Redis, stream: str, run_id: str, refused: dict[str, int]) -> dict[str, Any]:
    """`{"fenced": n, "by_stage": {...}, "by_pod": {...}, "refused": {service: n}}`:
    sagas a consumer abandoned because another had reclaimed the entry (by where it was
    stopped: step, compensation, outcome) and stale requests each service refused."""
    raw: Any = r.hgetall(f"{stream}:fenced:{run_id}")
    by_stage: dict[str, int] = {}
    by_pod: dict[str, int] = {}
    for value in raw.values():
        pod, _, stage = str(value).rpartition("|")
        by_stage[stage] = by_stage.get(stage, 0) + 1
        by_pod[pod] = by_pod.get(pod, 0) + 1
    return {"fenced": len(raw), "by_stage": by_stage, "by_pod": by_pod, "refused": refused}
