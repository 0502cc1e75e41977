"""`timeout`: swallow all data; close the connection `timeout` ms after the toxic started
on it (0 = hold it open forever). Removing the toxic closes the connections it held."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from chaos.proxy.toxics.base import Chunk, Forward, Runner


class Timeout(Runner):
    TYPE: ClassVar[str] = "timeout"
    GO_NAME: ClassVar[str] = "TimeoutToxic"
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("timeout",)

    _timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        ms = self.attr("timeout")
        if ms > 0:
            self._timer = asyncio.get_running_loop().call_later(ms / 1000.0, self.link.close)

    async def handle(self, chunk: Chunk, forward: Forward) -> None:
        return None  # dropped

    def stop(self, removed: bool) -> None:
        super().stop(removed)
        if self._timer is not None:
            self._timer.cancel()
        if removed:
            self.link.close()
