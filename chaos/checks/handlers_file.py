"""The optional `handled_by` section of observations.json: which pods ran each saga.

`{"pods": [name, ...], "order_id": [...], "pod": [...]}`, one row per (order, pod),
sorted by order id, `pod` indexing `pods` (docs/observations.md). Absent: None, and
blame falls back to time (chaos.checks.blame).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chaos.checks.model import HandledBy, Ints


class HandledByError(ValueError):
    """The section is malformed; the message names the field."""


def read_handled_by(raw: Any, column: Callable[[Any, str], Ints]) -> HandledBy | None:
    """Parse the section; `column(value, where)` turns a JSON array into integers."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise HandledByError("handled_by: must be an object")
    pods = raw.get("pods", [])
    if not isinstance(pods, list) or not all(isinstance(p, str) for p in pods):
        raise HandledByError("handled_by.pods: must be a list of pod names")
    ids = column(raw.get("order_id", []), "handled_by.order_id").astype(np.int64)
    pod = column(raw.get("pod", []), "handled_by.pod")
    if len(ids) != len(pod):
        raise HandledByError("handled_by: order_id and pod differ in length")
    if len(ids) > 1 and not np.all(ids[1:] >= ids[:-1]):
        raise HandledByError("handled_by.order_id: must be sorted")
    if len(pod) and (int(pod.min()) < 0 or int(pod.max()) >= len(pods)):
        raise HandledByError("handled_by.pod: index out of range of pods")
    return HandledBy(ids, pod, list(pods))
