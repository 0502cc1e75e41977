"""Where the `redis-stream` publisher sends: a fixed address, or the primary Sentinel names.

Sentinel announces the primary's real address; the publisher dials the proxy its setting
`sentinel.proxies` maps that address to (the target's `producer-broker*` hops), so faults
on those hops still apply after a failover. An announced address with no proxy is an
error (the publish fails, nothing sent), never dialled directly. Asked once per new
connection: a connection that failed is dropped, so the next one follows a failover.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SENTINEL_KEYS = {"master", "nodes", "proxies"}
Address = tuple[str, int]


class NoPrimary(Exception):
    """No sentinel named a primary this publisher may dial (the publish fails)."""


def parse_address(address: Any, what: str = "address") -> Address:
    """`host:port` -> (host, port), or ValueError with a one-line reason."""
    if isinstance(address, str) and ":" in address:
        host, _, port = address.rpartition(":")
        if host and port.isdigit() and 0 < int(port) < 65536:
            return host.strip("[]"), int(port)
    raise ValueError(f"redis-stream setting {what} must be host:port, got {address!r}")


class SentinelLookup:
    """Ask the sentinels for `master`, map the answer through `proxies`."""

    def __init__(self, raw: Any, timeout_s: float) -> None:
        if not isinstance(raw, dict):
            raise ValueError("redis-stream setting sentinel must be an object "
                             "(master, nodes, proxies)")
        unknown = set(raw) - SENTINEL_KEYS
        if unknown:
            names = ", ".join(sorted(unknown))
            raise ValueError(f"unknown redis-stream sentinel setting(s): {names}")
        nodes = raw.get("nodes")
        if not isinstance(nodes, list) or not nodes:
            raise ValueError("redis-stream setting sentinel.nodes must be a non-empty list")
        self.master = str(raw.get("master", "orders"))
        self.nodes = [parse_address(n, "sentinel.nodes") for n in nodes]
        self.proxies: dict[Address, Address] = {}
        for pair in raw.get("proxies") or []:
            if not isinstance(pair, dict) or set(pair) != {"announced", "via"}:
                raise ValueError("redis-stream setting sentinel.proxies: each item needs "
                                 f"announced and via, got {pair!r}")
            self.proxies[parse_address(pair["announced"], "sentinel.proxies.announced")] = (
                parse_address(pair["via"], "sentinel.proxies.via"))
        self.timeout_s = timeout_s
        self._sentinel: Any = None

    def __call__(self) -> Address:
        from redis.exceptions import RedisError
        from redis.sentinel import Sentinel

        if self._sentinel is None:
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            kwargs = {"socket_timeout": self.timeout_s, "socket_connect_timeout": self.timeout_s,
                      "retry": Retry(NoBackoff(), 0)}  # a dead sentinel: ask the next one
            self._sentinel = Sentinel(self.nodes, sentinel_kwargs=kwargs)  # type: ignore[no-untyped-call]
        try:
            host, port = self._sentinel.discover_master(self.master)
        except RedisError as e:  # MasterNotFoundError: none named one, or none answered
            raise NoPrimary(type(e).__name__) from None
        via = self.proxies.get((str(host), int(port)))
        if via is None:
            raise NoPrimary(f"UnmappedPrimary:{host}:{port}")
        return via


def primary(settings: dict[str, Any], timeout_s: float) -> Callable[[], Address]:
    """The address to dial for each new connection: fixed, or looked up through Sentinel."""
    if settings.get("sentinel") is not None:
        return SentinelLookup(settings["sentinel"], timeout_s)
    fixed = parse_address(settings.get("address"))
    return lambda: fixed
