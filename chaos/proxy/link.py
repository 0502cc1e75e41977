"""One proxied TCP connection: a client side, an upstream side and two flows between them
(see flow.py for the data path). The link dials the upstream, draws each toxic's toxicity
once per connection, keeps the toxic chains in sync with the proxy, and closes or resets
both sides. Half-close is forwarded (EOF on one side becomes write_eof on the other).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from chaos.proxy.flow import Counters, Flow, Side
from chaos.proxy.toxics import TOXICS
from chaos.proxy.toxics.base import Runner, ToxicConfig

if TYPE_CHECKING:
    from chaos.proxy.state import ProxyState

CONNECT_TIMEOUT_S = 10.0
DIRECTIONS = ("upstream", "downstream")
__all__ = ["DIRECTIONS", "Counters", "Link", "split_hostport"]


class Link:
    """A client connection and its upstream connection, owned by one proxy."""

    def __init__(self, proxy: ProxyState, rng: random.Random) -> None:
        self.proxy = proxy
        self.rng = rng
        self.closed = False
        self.client = Side(self)
        self.upstream: Side | None = None
        self.flows: dict[str, Flow] = {}
        self.decisions: dict[ToxicConfig, Runner | None] = {}
        self._connect: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- lifecycle
    def side_made(self, side: Side) -> None:
        if side is self.client:
            assert side.transport is not None
            side.transport.pause_reading()
            self.proxy.links.add(self)
            self.proxy.connections_total += 1
            self._connect = asyncio.get_running_loop().create_task(self._dial())

    async def _dial(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            host, port = split_hostport(self.proxy.upstream)
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                up = Side(self)
                await loop.create_connection(lambda: up, host, port)
        except (OSError, ValueError, TimeoutError):
            self.close()  # like the real server: accept, then close at once
            return
        if self.closed:
            if up.transport is not None:
                up.transport.close()
            return
        self.upstream = up
        c = self.proxy.counters
        self.flows = {
            "upstream": Flow(self, "upstream", self.client, up, c["upstream"]),
            "downstream": Flow(self, "downstream", up, self.client, c["downstream"]),
        }
        self.sync_toxics()
        for side in (self.client, up):
            early, side.early = side.early, []
            for data in early:
                if self.closed or side.inbound is None:
                    break
                if data is None:
                    side.inbound.feed_eof()
                else:
                    side.inbound.feed(data)
        if self.closed:
            return
        if self.client.transport is not None:
            with contextlib.suppress(RuntimeError):
                self.client.transport.resume_reading()

    def flow_done(self) -> None:
        if all(f.eof_sent for f in self.flows.values()):
            self.close()

    def close(self) -> None:
        self._finish(lambda t: t.close())

    def reset(self) -> None:
        """Abort both sides with SO_LINGER 0, so each peer sees a TCP RST."""

        def rst(t: asyncio.Transport) -> None:
            sock = t.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            t.abort()

        self._finish(rst)

    def _finish(self, end: Callable[[asyncio.Transport], None]) -> None:
        if self.closed:
            return
        self.closed = True
        for flow in self.flows.values():
            flow.stop()
        if self._connect is not None and self._connect is not asyncio.current_task():
            self._connect.cancel()
        for side in (self.client, self.upstream):
            if side is not None and side.transport is not None and not side.transport.is_closing():
                end(side.transport)
        self.proxy.links.discard(self)

    # ---------------------------------------------------------------- toxics
    def sync_toxics(self) -> None:
        """Rebuild both chains from the proxy's toxics; toxicity is drawn once per toxic."""
        if self.closed or not self.flows:
            return
        live: set[ToxicConfig] = set()
        for direction in DIRECTIONS:
            chain: list[Runner] = []
            for toxic in self.proxy.toxics_for(direction):
                live.add(toxic)
                if toxic not in self.decisions:
                    self.decisions[toxic] = self._draw(toxic)
                runner = self.decisions[toxic]
                if runner is not None:
                    chain.append(runner)
            self.flows[direction].set_chain(chain)
        for toxic in [t for t in self.decisions if t not in live]:
            runner = self.decisions.pop(toxic)
            if runner is not None:
                runner.stop(removed=True)

    def redraw(self, toxic: ToxicConfig) -> None:
        """The toxic's toxicity changed: decide again for this connection."""
        old = self.decisions.pop(toxic, None)
        if old is not None:
            old.stop(removed=False)
        self.sync_toxics()

    def _draw(self, toxic: ToxicConfig) -> Runner | None:
        if toxic.toxicity < 1.0 and not self.rng.random() < toxic.toxicity:
            return None
        runner = TOXICS[toxic.type](toxic, self)
        runner.start()
        return runner


def split_hostport(address: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (host, port); ValueError when malformed."""
    host, sep, port = address.rpartition(":")
    if not sep:
        raise ValueError(f"address {address}: missing port in address")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"address {address}: invalid port")
    return host, int(port)
