"""Live measurements of a Redis Streams pipeline: lag, pending, completion rate, DLQ length.

Settings (the target's `probes.settings`, references resolved): `redis` (host:port),
`stream` (default orders), `group` (default workers), `dlq` (default orders:dlq),
`completions` (a counter the consumers INCR per terminal outcome, default
`<stream>:completions`). Works on redis 6.2 (lag computed) and 7+ (lag from XINFO).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import redis
from redis.exceptions import RedisError

from chaos.paramdoc import param
from chaos.probes.base import ProbeEnv, ProbeError

_CHUNK = 10_000
# what each probe reads from the target's probes.settings (`pipechaos list` shows them)
_SETTING = {
    "redis": param("redis", "host:port", None, "the broker", required=True),
    "stream": param("stream", "str", "orders", "the stream"),
    "group": param("group", "str", "workers", "the consumer group"),
    "dlq": param("dlq", "str", "<stream>:dlq", "the dead-letter stream"),
    "completions": param(
        "completions", "str", "<stream>:completions", "the counter consumers INCR"
    ),
}


def _settings(*names: str) -> tuple[dict[str, Any], ...]:
    return tuple(_SETTING[n] for n in names)

_clients: dict[tuple[str, int], redis.Redis] = {}
_lock = threading.Lock()


def _client(settings: dict[str, Any]) -> redis.Redis:
    address = str(settings.get("redis") or "")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ProbeError(f"probes setting redis must be host:port, not {address!r}")
    key = (host, int(port))
    with _lock:
        if key not in _clients:
            _clients[key] = redis.Redis(host=host, port=int(port), decode_responses=True,
                                        socket_timeout=2.0, socket_connect_timeout=1.0)
        return _clients[key]


def _names(settings: dict[str, Any]) -> tuple[str, str, str, str]:
    stream = str(settings.get("stream", "orders"))
    group = str(settings.get("group", "workers"))
    dlq = str(settings.get("dlq", f"{stream}:dlq"))
    return stream, group, dlq, str(settings.get("completions", f"{stream}:completions"))


def _group(r: redis.Redis, stream: str, group: str) -> dict[str, Any]:
    groups: Any = r.xinfo_groups(stream)
    found = next((g for g in groups if g["name"] == group), None)
    if found is None:
        raise ProbeError(f"consumer group {group!r} not found on stream {stream!r}")
    return dict(found)


def lag_of(r: redis.Redis, stream: str, info: dict[str, Any]) -> int:
    """Entries not yet delivered to the group (XINFO lag on 7+, counted on 6.2)."""
    if info.get("lag") is not None:
        return int(info["lag"])
    last, lag = str(info["last-delivered-id"]), 0
    while True:
        rows: Any = r.xrange(stream, min=f"({last}", max="+", count=_CHUNK)
        lag += len(rows)
        if len(rows) < _CHUNK:
            return lag
        last = rows[-1][0]


def _guard(what: str, fn: Any) -> float:
    try:
        return float(fn())
    except RedisError as exc:
        raise ProbeError(f"{what}: {type(exc).__name__}: {exc}") from None


@dataclass
class Lag:
    params: ClassVar[tuple[dict[str, Any], ...]] = _settings("redis", "stream", "group")
    name: str = "lag"
    description: str = "stream entries not yet delivered to the consumer group"

    def measure(self, env: ProbeEnv) -> float:
        r = _client(env.settings)
        stream, group, _, _ = _names(env.settings)
        if not _guard("lag", lambda: r.exists(stream)):
            return 0.0  # nothing published yet
        return _guard("lag", lambda: lag_of(r, stream, _group(r, stream, group)))


@dataclass
class Pending:
    params: ClassVar[tuple[dict[str, Any], ...]] = _settings("redis", "stream", "group")
    name: str = "pending"
    description: str = "entries delivered to a consumer but not acknowledged (XPENDING)"

    def measure(self, env: ProbeEnv) -> float:
        r = _client(env.settings)
        stream, group, _, _ = _names(env.settings)
        if not _guard("pending", lambda: r.exists(stream)):
            return 0.0
        return _guard("pending", lambda: _group(r, stream, group)["pending"])


@dataclass
class DlqLength:
    params: ClassVar[tuple[dict[str, Any], ...]] = _settings("redis", "stream", "dlq")
    name: str = "dlq_length"
    description: str = "entries in the dead-letter stream"

    def measure(self, env: ProbeEnv) -> float:
        r = _client(env.settings)
        _, _, dlq, _ = _names(env.settings)
        return _guard("dlq_length", lambda: r.xlen(dlq))


@dataclass
class Completed:
    params: ClassVar[tuple[dict[str, Any], ...]] = _settings("redis", "stream", "completions")
    name: str = "completed"
    description: str = "terminal outcomes so far (the consumers' counter)"

    def measure(self, env: ProbeEnv) -> float:
        r = _client(env.settings)
        _, _, _, key = _names(env.settings)
        return _guard("completed", lambda: float(r.get(key) or 0))


@dataclass
class CompletionRate:
    """Terminal outcomes per second between two calls (first call: a 0.25 s window)."""

    params: ClassVar[tuple[dict[str, Any], ...]] = _settings("redis", "stream", "completions")
    name: str = "completion_rate"
    description: str = "terminal outcomes (completed, compensated, dead-lettered) per second"
    max_gap_s: float = 10.0
    _last: dict[tuple[str, str], tuple[float, int]] = field(default_factory=dict, repr=False)

    def _read(self, r: redis.Redis, key: str) -> tuple[float, int]:
        value: Any = r.get(key)
        return time.monotonic(), int(value or 0)

    def measure(self, env: ProbeEnv) -> float:
        r = _client(env.settings)
        _, _, _, key = _names(env.settings)
        ident = (str(env.settings.get("redis")), key)
        try:
            now, count = self._read(r, key)
            prev = self._last.get(ident)
            if prev is None or now - prev[0] > self.max_gap_s or count < prev[1]:
                time.sleep(0.25)
                prev = (now, count)
                now, count = self._read(r, key)
        except (RedisError, ValueError) as exc:
            raise ProbeError(f"completion_rate: {type(exc).__name__}: {exc}") from None
        self._last[ident] = (now, count)
        elapsed = now - prev[0]
        return (count - prev[1]) / elapsed if elapsed > 0 else 0.0


LAG = Lag()
PENDING = Pending()
DLQ_LENGTH = DlqLength()
COMPLETION_RATE = CompletionRate()
COMPLETED = Completed()
