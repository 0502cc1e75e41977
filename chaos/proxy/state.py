"""Proxies and their toxics: the operations behind every API route.

Every operation either succeeds completely or raises `ApiError` and leaves the state as
it was (better than the real server, which can half-apply a rejected update and leaves a
proxy disabled after a failed listen change).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import random
import socket
from dataclasses import dataclass, field
from typing import Any

from chaos.proxy.link import DIRECTIONS, Counters, Link, split_hostport
from chaos.proxy.toxics.base import ToxicConfig


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(eq=False)
class ProxyState:
    name: str
    listen: str  # resolved host:port once bound
    upstream: str
    enabled: bool = True
    toxics: list[ToxicConfig] = field(default_factory=list)
    links: set[Link] = field(default_factory=set)
    server: asyncio.AbstractServer | None = None
    connections_total: int = 0
    counters: dict[str, Counters] = field(
        default_factory=lambda: {d: Counters() for d in DIRECTIONS}
    )

    def toxics_for(self, direction: str) -> list[ToxicConfig]:
        return [t for t in self.toxics if t.direction == direction]

    def toxic(self, name: str) -> ToxicConfig | None:
        return next((t for t in self.toxics if t.name == name), None)

    def listing(self) -> list[ToxicConfig]:
        """Upstream toxics first, then downstream, each in the order added."""
        return self.toxics_for("upstream") + self.toxics_for("downstream")

    def close_links(self) -> None:
        for link in list(self.links):
            link.close()

    def sync_links(self) -> None:
        for link in list(self.links):
            link.sync_toxics()


def bind(listen: str) -> socket.socket:
    """Bind and listen synchronously, with Go-style error text on failure (500)."""
    try:
        host, port = split_hostport(listen)
    except ValueError as exc:
        raise ApiError(500, f"listen tcp: {exc}") from None
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError):
        raise ApiError(500, f"listen tcp: lookup {host}: no such host") from None
    infos.sort(key=lambda i: i[0] != socket.AF_INET)  # prefer IPv4 like Go's "localhost"
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        if exc.errno == errno.EADDRNOTAVAIL:
            reason = "cannot assign requested address"
        raise ApiError(500, f"listen tcp {host}:{port}: bind: {reason}") from None
    sock.setblocking(False)
    return sock


def sock_address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve_listen(listen: str) -> str | None:
    """The address a listen string would bind to, or None when that needs a bind (port 0)."""
    try:
        host, port = split_hostport(listen)
        if port == 0:
            return None
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE | socket.AI_NUMERICSERV)
    except (OSError, ValueError, UnicodeError):
        return None
    infos.sort(key=lambda i: i[0] != socket.AF_INET)
    h, p = str(infos[0][4][0]), int(infos[0][4][1])
    return f"[{h}]:{p}" if ":" in h else f"{h}:{p}"


class Registry:
    """All proxies of one server; the only place that starts and stops listeners."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.proxies: dict[str, ProxyState] = {}
        self.lock = asyncio.Lock()

    def get(self, name: str) -> ProxyState:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise ApiError(404, "proxy not found")
        return proxy

    async def _serve(self, proxy: ProxyState, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        rng = self.rng

        def factory() -> asyncio.Protocol:
            return Link(proxy, rng).client

        proxy.server = await loop.create_server(factory, sock=sock, backlog=1024)
        proxy.listen = sock_address(sock)

    def _stop(self, proxy: ProxyState) -> None:
        if proxy.server is not None:
            proxy.server.close()
            proxy.server = None
        proxy.close_links()

    async def create(self, name: str, listen: str, upstream: str, enabled: bool) -> ProxyState:
        if name in self.proxies:
            raise ApiError(409, "proxy already exists")
        proxy = ProxyState(name=name, listen=listen, upstream=upstream, enabled=enabled)
        if enabled:
            await self._serve(proxy, bind(listen))
        self.proxies[name] = proxy
        return proxy

    async def update(self, proxy: ProxyState, fields: dict[str, Any]) -> ProxyState:
        listen = fields.get("listen") or proxy.listen
        upstream = fields.get("upstream") or proxy.upstream
        enabled = fields.get("enabled", proxy.enabled)
        moved = listen != proxy.listen and resolve_listen(listen) != proxy.listen
        if enabled and (moved or not proxy.enabled):
            sock = bind(listen)  # raises before anything changed
            self._stop(proxy)
            proxy.upstream = upstream
            await self._serve(proxy, sock)
        elif not enabled:
            self._stop(proxy)
            if moved:
                proxy.listen = listen
        if upstream != proxy.upstream:
            proxy.close_links()
        proxy.upstream = upstream
        proxy.enabled = enabled
        return proxy

    def delete(self, proxy: ProxyState) -> None:
        self._stop(proxy)
        self.proxies.pop(proxy.name, None)

    async def reset(self) -> None:
        first: ApiError | None = None
        for proxy in self.proxies.values():
            removed, proxy.toxics = proxy.toxics, []
            if removed:
                proxy.sync_links()
            if not proxy.enabled:
                try:
                    await self._serve(proxy, bind(proxy.listen))
                    proxy.enabled = True
                except ApiError as exc:
                    first = first or exc
        if first is not None:
            raise first

    async def populate(self, items: list[dict[str, Any]]) -> list[ProxyState]:
        done: list[ProxyState] = []
        for item in items:
            old = self.proxies.get(item["name"])
            listen = item.get("listen") or "127.0.0.1:0"
            if old is not None:
                same = old.upstream == item["upstream"] and (
                    listen == old.listen or resolve_listen(listen) == old.listen
                )
                if same:
                    done.append(old)
                    continue
                self.delete(old)
            try:
                done.append(await self.create(item["name"], listen, item["upstream"],
                                              item.get("enabled", True)))
            except ApiError as exc:
                raise PopulateError(exc, done) from None
        return done

    def close_all(self) -> None:
        for proxy in self.proxies.values():
            with contextlib.suppress(Exception):
                self._stop(proxy)


class PopulateError(Exception):
    def __init__(self, error: ApiError, created: list[ProxyState]) -> None:
        super().__init__(error.message)
        self.error = error
        self.created = created
