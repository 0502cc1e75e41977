"""What a toxic is: a typed attribute schema plus a runner that acts on one link direction.

A runner is created per connection and direction when the toxic is drawn active for that
connection (toxicity). It reads the toxic's attributes live, so an update reaches open
connections at their next chunk. `stop()` interrupts any sleep, so removing a toxic never
leaves data stuck in it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(slots=True)
class Chunk:
    """Bytes that arrived at `t` (monotonic seconds); `data is None` marks end of stream."""

    data: bytes | None
    t: float = field(default_factory=time.monotonic)


Forward = Callable[[Chunk], Awaitable[None]]


class AttributeError400(ValueError):
    """An attribute value the API answers with 400 (message is the whole error text)."""


class LinkControl(Protocol):
    """What a runner may do to the connection it sits on."""

    rng: random.Random

    def close(self) -> None:
        """Close both sides gracefully (written data is flushed)."""

    def reset(self) -> None:
        """Close both sides with a TCP RST."""


@dataclass(eq=False)
class ToxicConfig:
    """A toxic as the API knows it; `eq=False` so it hashes by identity."""

    name: str
    type: str
    stream: str  # as sent by the client (matched case-insensitively)
    toxicity: float
    attributes: dict[str, Any]

    @property
    def direction(self) -> str:
        return self.stream.lower()


class Runner:
    """Default runner: passes everything through. Subclasses override `handle`."""

    TYPE: ClassVar[str] = ""
    GO_NAME: ClassVar[str] = ""  # the Go struct name, for decoder-style messages
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, toxic: ToxicConfig, link: LinkControl) -> None:
        self.toxic = toxic
        self.link = link
        self.stopped = False
        self._waiter: asyncio.Future[None] | None = None

    # ------------------------------------------------------------- attributes (API side)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return dict.fromkeys(cls.ATTRIBUTES, 0)

    @classmethod
    def parse(cls, raw: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
        """Merge `raw` into `base`, type-checked like Go's decoder, then range-checked."""
        out = dict(base)
        for key in cls.ATTRIBUTES:
            if key not in raw or raw[key] is None:
                continue
            out[key] = _int64(raw[key], f"{cls.GO_NAME}.{key}")
        problem = cls.check(out)
        if problem:
            raise AttributeError400(problem)
        return out

    @classmethod
    def check(cls, attrs: Mapping[str, Any]) -> str | None:
        """Range validation the real server lacks; default: nothing negative."""
        for key in cls.ATTRIBUTES:
            if attrs[key] < 0:
                return f"{cls.TYPE} attribute {key} must not be negative, got {attrs[key]}"
        return None

    def attr(self, key: str) -> int:
        value = self.toxic.attributes.get(key, 0)
        return int(value)

    # ------------------------------------------------------------- data path

    def start(self) -> None:
        """Called when the runner joins a live link."""

    async def handle(self, chunk: Chunk, forward: Forward) -> None:
        await forward(chunk)

    def stop(self, removed: bool) -> None:
        """The toxic left the link (`removed`) or the link closed; wake any sleep."""
        self.stopped = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def sleep(self, seconds: float) -> bool:
        """Sleep at least `seconds` unless stopped; False when interrupted by stop()."""
        return await self.sleep_until(time.monotonic() + seconds)

    async def sleep_until(self, deadline: float) -> bool:
        """Sleep until `deadline` (monotonic) has passed, never less: uvloop's timers count
        whole milliseconds from the loop's cached time and can fire a little early (a
        150 ms latency toxic once delayed a round trip by 149.97 ms)."""
        while not self.stopped:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            await self._one_timer(left)
        return False

    async def _one_timer(self, seconds: float) -> None:
        """One loop timer (may fire early), woken at once by stop()."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiter = fut
        handle = loop.call_later(seconds, _wake, fut)
        try:
            await fut
        finally:
            handle.cancel()
            self._waiter = None


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _int64(value: Any, where: str) -> int:
    """Go's int64 decoding rules: integers only, no bools, no strings, no fractions."""
    if isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return value
        kind = f"number {value}"
    elif isinstance(value, float):
        kind = f"number {value:g}"
    elif isinstance(value, str):
        kind = "string"
    elif isinstance(value, list):
        kind = "array"
    else:
        kind = "object"
    raise AttributeError400(
        f"bad request body: json: cannot unmarshal {kind} into Go struct field {where}"
        " of type int64"
    )
