"""`slow_close`: hold the end of stream for `delay` ms after the other side closed."""

from __future__ import annotations

from typing import ClassVar

from chaos.proxy.toxics.base import Chunk, Forward, Runner


class SlowClose(Runner):
    TYPE: ClassVar[str] = "slow_close"
    GO_NAME: ClassVar[str] = "SlowCloseToxic"
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("delay",)

    async def handle(self, chunk: Chunk, forward: Forward) -> None:
        if chunk.data is None:
            await self.sleep(self.attr("delay") / 1000.0)
        await forward(chunk)
