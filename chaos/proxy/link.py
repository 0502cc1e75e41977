"""One proxied TCP connection: a client side, an upstream side and two flows between them.

Fast path: while a direction has no active toxic and nothing queued, `data_received`
writes straight into the other transport (no task, no per-chunk work beyond a counter),
and back-pressure pauses the reader. With toxics, chunks go through a queue and a pump
task that runs the toxic chain in the order toxics were added; once the chain is empty
again and the queue drained, the flow drops back to the fast path. Half-close is
forwarded (EOF on one side becomes write_eof on the other).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from chaos.proxy.toxics import TOXICS
from chaos.proxy.toxics.base import Chunk, Runner, ToxicConfig

if TYPE_CHECKING:
    from chaos.proxy.state import ProxyState

HIGH_WATER = 1 << 20
LOW_WATER = 1 << 18
CONNECT_TIMEOUT_S = 10.0
DIRECTIONS = ("upstream", "downstream")


@dataclass
class Counters:
    received: int = 0  # bytes read from the source of this direction
    sent: int = 0  # bytes written to its destination
    open: int = 0  # connections whose flow in this direction is still open


class Side(asyncio.Protocol):
    """One TCP connection of a link (client or upstream)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.transport: asyncio.Transport | None = None
        self.inbound: Flow | None = None  # the flow reading from this side
        self.outbound: Flow | None = None  # the flow writing to this side
        self.paused_writing = False
        self._drain: asyncio.Future[None] | None = None
        # uvloop may deliver data despite pause_reading() in connection_made: keep it
        self.early: list[bytes | None] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)
        self.link.side_made(self)

    def data_received(self, data: bytes) -> None:
        if self.inbound is not None:
            self.inbound.feed(data)
        else:
            self.early.append(data)

    def eof_received(self) -> bool:
        if self.inbound is not None:
            self.inbound.feed_eof()
        else:
            self.early.append(None)
        return True  # keep the write side open: half-close

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.close()
        self._wake()

    def pause_writing(self) -> None:
        self.paused_writing = True
        if self.outbound is not None:
            self.outbound.dest_paused()

    def resume_writing(self) -> None:
        self.paused_writing = False
        if self.outbound is not None:
            self.outbound.dest_resumed()
        self._wake()

    async def drained(self) -> None:
        while self.paused_writing and not self.link.closed:
            self._drain = asyncio.get_running_loop().create_future()
            await self._drain

    def _wake(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)


class Flow:
    """One direction of a link: source side -> toxic chain -> destination side."""

    def __init__(self, link: Link, direction: str, src: Side, dst: Side, c: Counters) -> None:
        self.link, self.direction, self.src, self.dst, self.counters = link, direction, src, dst, c
        self.fast = True
        self.chain: list[Runner] = []
        self.queue: deque[Chunk] = deque()
        self.queued = 0
        self.eof_sent = False
        self.task: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._pauses: set[str] = set()
        src.inbound, dst.outbound = self, self
        c.open += 1

    # ---------------------------------------------------------------- input
    def feed(self, data: bytes) -> None:
        self.counters.received += len(data)
        if self.fast:
            self._write(data)
            return
        self.queue.append(Chunk(data))
        self.queued += len(data)
        if self.queued > HIGH_WATER:
            self._pause("queue")
        self._wake()

    def feed_eof(self) -> None:
        if self.fast:
            self._write_eof()
        else:
            self.queue.append(Chunk(None))
            self._wake()

    # ---------------------------------------------------------------- output
    def _write(self, data: bytes) -> None:
        transport = self.dst.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)
            self.counters.sent += len(data)

    def _write_eof(self) -> None:
        if self.eof_sent:
            return
        self.eof_sent = True
        self.counters.open -= 1
        transport = self.dst.transport
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                transport.write_eof()
        self.link.flow_done()

    async def _emit(self, chunk: Chunk) -> None:
        if self.link.closed:
            return
        if chunk.data is None:
            self._write_eof()
            return
        self._write(chunk.data)
        await self.dst.drained()

    # ---------------------------------------------------------------- flow control
    def dest_paused(self) -> None:
        if self.fast:
            self._pause("dst")

    def dest_resumed(self) -> None:
        self._resume("dst")

    def _pause(self, reason: str) -> None:
        if not self._pauses and self.src.transport is not None:
            with contextlib.suppress(RuntimeError):
                self.src.transport.pause_reading()
        self._pauses.add(reason)

    def _resume(self, reason: str) -> None:
        if reason not in self._pauses:
            return
        self._pauses.discard(reason)
        if not self._pauses and self.src.transport is not None:
            with contextlib.suppress(RuntimeError):
                self.src.transport.resume_reading()

    # ---------------------------------------------------------------- toxic chain
    def set_chain(self, chain: list[Runner]) -> None:
        self.chain = chain
        if chain and self.fast and not self.link.closed:
            self.fast = False
            self.task = asyncio.get_running_loop().create_task(self._pump())

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _pump(self) -> None:
        try:
            while not self.link.closed:
                if not self.queue:
                    if not self.chain:
                        break
                    self._wakeup = asyncio.get_running_loop().create_future()
                    await self._wakeup
                    continue
                chunk = self.queue.popleft()
                self.queued -= len(chunk.data or b"")
                if self.queued < LOW_WATER:
                    self._resume("queue")
                await self._run(0, list(self.chain), chunk)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.link.close()
        finally:
            self._wakeup = None
        if not self.link.closed:
            self.task = None
            self.fast = True
            if self.dst.paused_writing:
                self._pause("dst")

    async def _run(self, i: int, chain: list[Runner], chunk: Chunk) -> None:
        if i == len(chain):
            await self._emit(chunk)
            return

        async def forward(out: Chunk) -> None:
            await self._run(i + 1, chain, out)

        await chain[i].handle(chunk, forward)

    def stop(self) -> None:
        if not self.eof_sent:
            self.eof_sent = True
            self.counters.open -= 1
        for runner in self.chain:
            runner.stop(removed=False)
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        self._wake()


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
