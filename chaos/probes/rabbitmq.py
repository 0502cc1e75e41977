"""Live measurements of a RabbitMQ pipeline from the management HTTP API.

`lag` is the work queue's ready messages (not yet delivered), `pending` its unacknowledged
ones (delivered, not acked), `dlq_length` the dead-letter queue's messages. The management
API answers in milliseconds, fast enough for the 0.5 s sampler (rabbitmqctl is not); the
broker refreshes these counts every `collect_statistics_interval` (the rabbit-sql broker sets
500 ms). Settings (the target's `probes.settings` with `probes.type: rabbitmq`): management
(http://host:port, required), user / password (default guest), vhost (default /), queue
(a name or a list whose counts add up, default orders), dlq (default <queue>.dlq).
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

import httpx

from chaos.probes.base import ProbeEnv, ProbeError

_clients: dict[tuple[str, str, str], httpx.Client] = {}
_lock = threading.Lock()


def _client(settings: dict[str, Any]) -> httpx.Client:
    base = str(settings.get("management") or "")
    if not base.startswith(("http://", "https://")):
        raise ProbeError(f"probes setting management must be an http(s) URL, not {base!r}")
    user, password = str(settings.get("user", "guest")), str(settings.get("password", "guest"))
    key = (base, user, password)
    with _lock:
        if key not in _clients:
            _clients[key] = httpx.Client(base_url=base.rstrip("/"), auth=(user, password),
                                         timeout=2.0)
        return _clients[key]


def _queues(settings: dict[str, Any]) -> list[str]:
    queue = settings.get("queue", "orders")
    return [str(q) for q in queue] if isinstance(queue, list) else [str(queue)]


def queue_counts(settings: dict[str, Any], queue: str) -> dict[str, Any]:
    """The management API's record of one queue; a missing queue counts as empty."""
    vhost = quote(str(settings.get("vhost", "/")), safe="")
    path = f"/api/queues/{vhost}/{quote(queue, safe='')}"
    try:
        resp = _client(settings).get(path, params={"columns": "messages_ready,"
                                                   "messages_unacknowledged,messages"})
    except httpx.HTTPError as exc:
        raise ProbeError(f"rabbitmq management: {type(exc).__name__}: {exc}") from None
    if resp.status_code == 404:
        return {}
    if resp.status_code != 200:
        raise ProbeError(f"rabbitmq management {path}: HTTP {resp.status_code}")
    return dict(resp.json())


def lag(settings: dict[str, Any]) -> float:
    return float(sum(int(queue_counts(settings, q).get("messages_ready") or 0)
                     for q in _queues(settings)))


def pending(settings: dict[str, Any]) -> float:
    return float(sum(int(queue_counts(settings, q).get("messages_unacknowledged") or 0)
                     for q in _queues(settings)))


def dlq_length(settings: dict[str, Any]) -> float:
    dlq = str(settings.get("dlq", f"{_queues(settings)[0]}.dlq"))
    return float(int(queue_counts(settings, dlq).get("messages") or 0))


def measure(name: str, env: ProbeEnv) -> float:
    """The broker probe `name` for a RabbitMQ target."""
    if name == "lag":
        return lag(env.settings)
    if name == "pending":
        return pending(env.settings)
    if name == "dlq_length":
        return dlq_length(env.settings)
    raise ProbeError(f"{name} is not available with probes.type rabbitmq")
