"""`reset_peer`: when data arrives, wait `timeout` ms, then reset the connection (RST)."""

from __future__ import annotations

from typing import ClassVar

from chaos.proxy.toxics.base import Chunk, Forward, Runner


class ResetPeer(Runner):
    TYPE: ClassVar[str] = "reset_peer"
    GO_NAME: ClassVar[str] = "ResetToxic"
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("timeout",)

    async def handle(self, chunk: Chunk, forward: Forward) -> None:
        if chunk.data is None:
            await forward(chunk)
            return
        if await self.sleep(self.attr("timeout") / 1000.0):
            self.link.reset()
            return
        await forward(chunk)  # removed while waiting: deliver after all
