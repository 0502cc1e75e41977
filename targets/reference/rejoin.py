"""A restarted broker asks Sentinel who the primary is before it starts.

Why: a primary that was failed over and comes back would otherwise start as a primary
again, with the writes it never replicated, until Sentinel notices (its INFO every 10 s)
and turns it into a replica some 10-20 s later; meanwhile nothing confirms a WAIT. So,
as the usual Kubernetes Redis charts do, a broker with setting `sentinel: {master,
nodes}` and `announce` (the address Sentinel knows it by) asks the sentinels at start:
if one names another node as the primary, it starts as that node's replica. When no
sentinel answers (the first start: they start after the brokers) it starts as
configured. The sentinels are asked directly: control traffic, like Sentinel's own.
"""

from __future__ import annotations

from typing import Any

from targets.reference.pod import die


def _address(value: Any, what: str) -> tuple[str, int]:
    host, _, port = str(value or "").rpartition(":")
    if not host or not port.isdigit():
        die(f"broker setting {what} must be host:port, not {value!r}")
    return host, int(port)


def replicaof(settings: dict[str, Any]) -> str | None:
    """`host:port` to replicate at start, or None to start as a primary: the primary a
    sentinel names (None if that is this broker), else the `replicaof` setting."""
    configured = settings.get("replicaof")
    named = named_primary(settings)
    if named is None:
        return None if configured is None else str(configured)
    me = _address(settings.get("announce"), "announce (needed with sentinel)")
    return None if named == me else f"{named[0]}:{named[1]}"


def named_primary(settings: dict[str, Any]) -> tuple[str, int] | None:
    """The primary the first answering sentinel names; None without sentinels or answer."""
    raw = settings.get("sentinel")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), list):
        die("broker setting sentinel must be an object with master and nodes")
    _address(settings.get("announce"), "announce (needed with sentinel)")
    nodes = [_address(n, "sentinel.nodes") for n in raw["nodes"]]
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    for host, port in nodes:  # no retries: a refused sentinel (first start) costs nothing
        client = redis.Redis(host=host, port=port, socket_timeout=1, socket_connect_timeout=1,
                             decode_responses=True, retry=Retry(NoBackoff(), 0))
        try:
            reply = client.execute_command(
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", str(raw.get("master", "orders")))
        except redis.RedisError:
            continue
        finally:
            client.close()
        if reply:
            return str(reply[0]), int(reply[1])
    return None
