"""Capped exponential backoff with full jitter, and a retry loop for transient failures.

Why full jitter: after a partition heals, N consumers must not hammer a service in step.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    base_s: float = 0.05
    cap_s: float = 2.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before retry number `attempt` (1-based): uniform in [0, min(cap, base*2^n)]."""
        ceiling = min(self.cap_s, self.base_s * (2 ** min(attempt - 1, 30)))
        return (rng or random).uniform(0.0, ceiling)


async def retry_forever(
    fn: Callable[[], Awaitable[T]],
    transient: tuple[type[BaseException], ...],
    backoff: Backoff,
    what: str,
) -> T:
    """Call `fn` until it succeeds; transient errors back off, others propagate.

    Cancellation (shutdown) propagates, which releases the work in flight.
    """
    attempt = 0
    while True:
        try:
            return await fn()
        except transient as exc:
            attempt += 1
            if attempt in (1, 10) or attempt % 100 == 0:
                print(f"retrying {what} (attempt {attempt}): {type(exc).__name__}: {exc}",
                      file=sys.stderr, flush=True)
            await asyncio.sleep(backoff.delay(attempt))
