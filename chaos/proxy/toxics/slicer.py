"""`slicer`: cut data into slices of average_size +/- size_variation bytes, `delay` us apart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from chaos.proxy.toxics.base import Chunk, Forward, Runner


class Slicer(Runner):
    TYPE: ClassVar[str] = "slicer"
    GO_NAME: ClassVar[str] = "SlicerToxic"
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ("average_size", "size_variation", "delay")

    @classmethod
    def check(cls, attrs: Mapping[str, Any]) -> str | None:
        problem = super().check(attrs)
        if problem:
            return problem
        if attrs["average_size"] <= 0:
            return "slicer attribute average_size must be positive"
        if attrs["size_variation"] > attrs["average_size"]:
            return "slicer attribute size_variation must not exceed average_size"
        return None

    async def handle(self, chunk: Chunk, forward: Forward) -> None:
        data = chunk.data
        if data is None:
            await forward(chunk)
            return
        while data:
            size = max(1, self.attr("average_size"))
            spread = min(self.attr("size_variation"), size - 1)
            if spread > 0:
                size += self.link.rng.randint(-spread, spread)
            piece, data = data[:size], data[size:]
            await forward(Chunk(piece, chunk.t))
            if data and not await self.sleep(self.attr("delay") / 1e6):
                break
        if data:
            await forward(Chunk(data, chunk.t))
