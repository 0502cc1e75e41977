"""What a consumer does with the messages in flight when SIGTERM lands (a rolling restart).

The rule: finish what can be finished within `shutdown_grace`, then cancel the rest and
leave their entries pending, unacknowledged, so another consumer reclaims them. Both halves
are counted (counters.py), so an experiment can show it reached them.
The known-bad variant `shutdown-acks-in-flight` ACKs the in-flight entries and drops the
work: a fast shutdown that loses every message it was holding.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable

from targets.reference.counters import Counters
from targets.reference.streams import TRANSIENT_REDIS


async def finish_or_release(tasks: set[asyncio.Task[None]], grace_s: float,
                            counters: Counters) -> None:
    """Let the in-flight tasks finish for up to `grace_s`, cancel (release) the rest."""
    at_term = set(tasks)
    finished: set[asyncio.Task[None]] = set()
    late: set[asyncio.Task[None]] = set()
    if at_term:
        finished, late = await asyncio.wait(at_term, timeout=grace_s)
        for task in late:
            task.cancel()
    counters.stopped(len(at_term), len(finished), len(late))
    print(f"stopping: {len(at_term)} in flight, {len(finished)} finished, "
          f"{len(late)} released", file=sys.stderr, flush=True)


async def ack_and_drop(tasks: set[asyncio.Task[None]], entry_ids: set[str],
                       ack: Callable[[str], Awaitable[None]], counters: Counters) -> None:
    """The bug: acknowledge the in-flight entries as if done, then abandon their work."""
    for entry_id in sorted(entry_ids):
        with contextlib.suppress(*TRANSIENT_REDIS):
            await ack(entry_id)
    for task in tasks:
        task.cancel()
    counters.stopped(len(tasks), 0, len(tasks))
