"""The two halves of a link's data path: a `Side` (one TCP connection, an asyncio
protocol) and a `Flow` (one direction: source side -> toxic chain -> destination side).

Fast path: while a flow has no active toxic and nothing queued, `data_received` writes
straight into the other transport (no task, no per-chunk work beyond a counter), and
back-pressure pauses the reader. With toxics, chunks go through a queue and a pump task
that runs the toxic chain in the order the toxics were added; once the chain is empty again
and the queue drained, the flow drops back to the fast path.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from chaos.proxy.toxics.base import Chunk, Runner

if TYPE_CHECKING:
    from chaos.proxy.link import Link

HIGH_WATER = 1 << 20
LOW_WATER = 1 << 18


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
        elif not chain:
            self._wake()  # an idle pump sees the empty chain and returns to the fast path

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
