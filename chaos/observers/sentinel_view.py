"""The broker as Sentinel sees it: which node is the primary now, and what became of the
others (observations.json `broker`, not read by the checks).

Why: a failover experiment must show in its own run data that the failover happened
(the primary moved, Sentinel's config epoch went up) and that the old primary came back
as a replica with a working link, not as a second primary. The observer also reads the
final state from the primary Sentinel names, not from the address of the start.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry


class SentinelView:
    """Settings: `master` (name, default `orders`), `nodes` ([host:port, ...])."""

    def __init__(self, raw: Any) -> None:
        if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), list):
            raise ValueError("observer setting sentinel needs nodes: [host:port, ...]")
        self.master = str(raw.get("master", "orders"))
        self.nodes: list[tuple[str, int]] = []
        for node in raw["nodes"]:
            host, _, port = str(node).rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"observer setting sentinel.nodes: {node!r} is not host:port")
            self.nodes.append((host, int(port)))

    def _ask(self, *command: Any) -> Any:
        """The first sentinel that answers; RedisError when none does."""
        last: Exception = RedisError("no sentinel configured")
        for host, port in self.nodes:
            client = redis.Redis(host=host, port=port, decode_responses=True,
                                 socket_timeout=2, socket_connect_timeout=2,
                                 retry=Retry(NoBackoff(), 0))  # the next sentinel instead
            try:
                return client.execute_command(*command)  # type: ignore[no-untyped-call]
            except RedisError as exc:
                last = exc
            finally:
                client.close()
        raise last

    def primary(self) -> tuple[str, int]:
        host, port = self._ask("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master)
        return str(host), int(port)

    def settled(self) -> bool:
        """Every replica Sentinel knows says it is one and its link to the primary is up:
        the broker is back at full strength (a restarted old primary has been turned
        into a replica and has synced)."""
        replicas = [_fields(r) for r in self._ask("SENTINEL", "REPLICAS", self.master)]
        return bool(replicas) and all(
            r.get("role-reported") == "slave" and r.get("master-link-status") == "ok"
            and "down" not in r.get("flags", "") for r in replicas)

    def describe(self, initial: tuple[str, int]) -> dict[str, Any]:
        """The `broker` section: primary now, the one at the start, Sentinel's epoch, and
        each replica with the role it reports and its link to the primary."""
        master = _fields(self._ask("SENTINEL", "MASTER", self.master))
        replicas = [_fields(r) for r in self._ask("SENTINEL", "REPLICAS", self.master)]
        now = f"{master.get('ip')}:{master.get('port')}"
        return {
            "primary": now,
            "initial_primary": f"{initial[0]}:{initial[1]}",
            "failed_over": now != f"{initial[0]}:{initial[1]}",
            "config_epoch": int(master.get("config-epoch", 0)),
            "replicas": [
                {"address": f"{r.get('ip')}:{r.get('port')}",
                 "role_reported": r.get("role-reported", ""),
                 "link": r.get("master-link-status", ""),
                 "flags": r.get("flags", "")}
                for r in replicas
            ],
        }


def _fields(reply: Any) -> dict[str, str]:
    """A sentinel reply (flat list, or a dict under RESP3) as a dict of strings."""
    if isinstance(reply, dict):
        return {str(k): str(v) for k, v in reply.items()}
    items = list(reply)
    return {str(items[i]): str(items[i + 1]) for i in range(0, len(items) - 1, 2)}
