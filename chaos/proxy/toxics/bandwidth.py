"""`bandwidth`: pace data to `rate` KB/s (KB = 1000 bytes); rate 0 stalls all data."""

from __future__ import annotations

import time
from typing import ClassVar

from chaos.proxy.toxics.base import Chunk, Forward, Runner

_SLICE_S = 0.01  # pace in pieces of 10 ms worth of data, for smooth rates
_IDLE_S = 0.05  # a gap longer than this is idleness, not a late timer


class Bandwidth(Runner):
    TYPE: ClassVar[str] = "bandwidth"
    GO_NAME: ClassVar[str] = "BandwidthToxic"
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("rate",)

    _next = 0.0

    async def handle(self, chunk: Chunk, forward: Forward) -> None:
        data = chunk.data
        if data is None:
            await forward(chunk)
            return
        while data:
            rate = self.attr("rate") * 1000  # bytes per second
            if rate <= 0:
                if not await self.sleep(3600.0):
                    break  # removed: let the rest through
                continue
            piece_len = max(1, int(rate * _SLICE_S))
            piece, data = data[:piece_len], data[piece_len:]
            now = time.monotonic()
            if now - self._next > _IDLE_S:
                self._next = now  # idle: no credit for the pause; late wake-ups catch up
            self._next += len(piece) / rate
            if not await self.sleep_until(self._next):
                data = piece + data
                break
            await forward(Chunk(piece, chunk.t))
        if data:
            await forward(Chunk(data, chunk.t))
