"""`latency`: delay every chunk by latency +/- jitter ms, counted from its arrival."""

from __future__ import annotations

from typing import ClassVar

from chaos.proxy.toxics.base import Chunk, Forward, Runner


class Latency(Runner):
    TYPE: ClassVar[str] = "latency"
    GO_NAME: ClassVar[str] = "LatencyToxic"
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("latency", "jitter")

    async def handle(self, chunk: Chunk, forward: Forward) -> None:
        delay_ms = self.attr("latency")
        jitter = self.attr("jitter")
        if jitter > 0:
            delay_ms += self.link.rng.randint(-jitter, jitter)
        if delay_ms > 0:
            # Deadline from arrival, so back-to-back chunks are not delayed cumulatively.
            await self.sleep_until(chunk.t + delay_ms / 1000.0)
        await forward(chunk)
