"""`limit_data`: pass `bytes` bytes in this direction, then close the connection."""

from __future__ import annotations

from typing import ClassVar

from chaos.proxy.toxics.base import Chunk, Forward, Runner


class LimitData(Runner):
    TYPE: ClassVar[str] = "limit_data"
    GO_NAME: ClassVar[str] = "LimitDataToxic"
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("bytes",)

    passed = 0

    async def handle(self, chunk: Chunk, forward: Forward) -> None:
        if chunk.data is None:
            await forward(chunk)
            return
        remaining = self.attr("bytes") - self.passed
        if remaining > 0:
            piece = chunk.data[:remaining]
            self.passed += len(piece)
            await forward(Chunk(piece, chunk.t))
            remaining -= len(piece)
        if remaining <= 0:
            self.link.close()
