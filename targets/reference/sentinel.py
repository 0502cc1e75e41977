"""Find the primary through Redis Sentinel, and reach it through this client's own proxy.

Sentinel answers with the real address of the primary (`127.0.0.1:<port of redis-1>`),
which would bypass the per-hop fault proxies of the target: a partition of the consumer's
link to the broker would then cut nothing. So every client carries a map from each
address Sentinel may announce (one per broker pod) to the proxy that leads there on this
client's hop, and connects to the mapped address. An announced address missing from the
map is refused (MasterNotFoundError, a transient error the clients retry), never used
directly: a fault must not be silently bypassed.

Settings (the `sentinel:` object of a consumer or producer):
  master:  the name Sentinel monitors (default `orders`)
  nodes:   [host:port, ...] of the sentinels (asked directly: control traffic)
  proxies: [{announced: host:port, via: host:port}, ...]
  wait_replicas: replicas a write must reach before it counts (`WAIT`; default 0: none)
  wait_timeout:  how long to wait for them (default 500ms)
docs/reference-pipeline.md, "Broker with a replica and Sentinel".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from targets.reference.pod import die, duration_s

Address = tuple[str, int]


def parse_address(value: Any, what: str) -> Address:
    host, _, port = str(value or "").rpartition(":")
    if not host or not port.isdigit():
        die(f"sentinel setting {what} must be host:port, not {value!r}")
    return host, int(port)


@dataclass(frozen=True)
class SentinelSettings:
    master: str
    nodes: tuple[Address, ...]
    proxies: dict[Address, Address]
    wait_replicas: int = 0
    wait_timeout_ms: int = 500

    def via(self, announced: Address) -> Address:
        """The address this client dials for an announced one; unknown ones are refused."""
        mapped = self.proxies.get((announced[0], int(announced[1])))
        if mapped is None:
            known = ", ".join(f"{h}:{p}" for h, p in self.proxies) or "none"
            raise MasterNotFoundError(
                f"sentinel announced {announced[0]}:{announced[1]}, which has no proxy "
                f"in this client's map (known: {known})")
        return mapped


def parse(raw: dict[str, Any]) -> SentinelSettings | None:
    """The `sentinel` setting of a pod, None when absent; one clear line when wrong."""
    value = raw.get("sentinel")
    if value is None:
        return None
    if not isinstance(value, dict):
        die("setting sentinel must be an object with master, nodes, proxies")
    unknown = set(value) - {"master", "nodes", "proxies", "wait_replicas", "wait_timeout"}
    if unknown:
        die(f"unknown sentinel setting(s): {', '.join(sorted(unknown))}")
    nodes = value.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        die("sentinel setting nodes must be a non-empty list of host:port")
    pairs = value.get("proxies") or []
    if not isinstance(pairs, list):
        die("sentinel setting proxies must be a list of {announced, via}")
    proxies: dict[Address, Address] = {}
    for pair in pairs:
        if not isinstance(pair, dict) or set(pair) != {"announced", "via"}:
            die(f"sentinel setting proxies: each item needs announced and via, not {pair!r}")
        proxies[parse_address(pair["announced"], "proxies.announced")] = parse_address(
            pair["via"], "proxies.via")
    wait = value.get("wait_replicas", 0)
    if not isinstance(wait, int) or wait < 0:
        die(f"sentinel setting wait_replicas must be an integer >= 0, not {wait!r}")
    timeout_ms = int(duration_s(value.get("wait_timeout"), 0.5) * 1000)
    if timeout_ms < 1:
        die("sentinel setting wait_timeout must be at least 1ms")
    return SentinelSettings(str(value.get("master", "orders")),
                            tuple(parse_address(n, "nodes") for n in nodes), proxies,
                            wait, timeout_ms)


class MappedSentinel(Sentinel):
    """redis-py's Sentinel whose master address is the client's proxy for it."""

    def __init__(self, settings: SentinelSettings, **connection_kwargs: Any) -> None:
        super().__init__(list(settings.nodes),
                         sentinel_kwargs={"socket_timeout": 1.0, "socket_connect_timeout": 1.0,
                                          "retry": Retry(ConstantBackoff(0), 0)},
                         **connection_kwargs)
        self.settings = settings

    async def discover_master(self, service_name: str) -> Address:
        announced = await super().discover_master(service_name)
        return self.settings.via(announced)


def client(settings: SentinelSettings, socket_timeout_s: float,
           max_connections: int) -> aredis.Redis:
    """A client of the current primary, with the consumer's retry budget (recovery.py:
    none inside redis-py; the caller owns every failure). Each new connection asks
    Sentinel; a connection to a demoted primary fails (READONLY -> ConnectionError)."""
    manager = MappedSentinel(settings)
    return manager.master_for(
        settings.master, redis_class=aredis.Redis, connection_pool_class=SentinelConnectionPool,
        decode_responses=True, socket_timeout=socket_timeout_s, socket_connect_timeout=2.0,
        max_connections=max_connections,
        retry=Retry(ConstantBackoff(0.1), 0),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
