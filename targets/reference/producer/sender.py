"""Moves durable records from the WAL to the broker, in offset order, until acknowledged.

One sender task, one batch in flight: so "every record up to the last offset of an
acknowledged batch" is the confirmed offset, with no bookkeeping of gaps. A failed batch
stays at the head and is sent again after a backoff (`resent`); what the broker already
had is recognised by the idempotent XADD (`deduplicated`). At start the WAL's records
after the confirmed offset go first (`replayed`). The bug `no-replay` skips both: the
start-up replay, and the resend after a failure (the batch is dropped, `dropped`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import deque
from dataclasses import asdict, dataclass

from targets.reference.crash import CrashPoints
from targets.reference.producer.link import SEND_ERRORS, BrokerLink, NotReplicated
from targets.reference.producer.wal import Record, Wal
from targets.reference.retry import Backoff

ACK_WAIT_S = 2.0  # an armed after-wal-before-xadd waits this long for the callers' answers


@dataclass
class SendCounts:
    sent: int = 0  # records the broker took as new entries
    deduplicated: int = 0  # records the broker already had (a resend after a crash or reply lost)
    resent: int = 0  # records sent again after a failed attempt
    replayed: int = 0  # records found unconfirmed in the WAL at start and queued again
    replays: int = 0  # starts that read the WAL for unconfirmed records
    send_errors: int = 0  # failed batch attempts
    send_recoveries: int = 0  # the success that ends a run of failures
    dropped: int = 0  # records given up (bug no-replay only)
    unreplicated: int = 0  # batch attempts the replicas did not confirm in time (WAIT)


class Sender:
    def __init__(self, wal: Wal, link: BrokerLink, crash: CrashPoints, slot: int,
                 backoff: Backoff, batch: int = 64, replay: bool = True) -> None:
        self.wal = wal
        self.link = link
        self.crash = crash
        self.slot = slot
        self.backoff = backoff
        self.batch = batch
        self.replay = replay
        self.counts = SendCounts()
        self.queue: deque[Record] = deque()
        self.changes = 0
        self._wake = asyncio.Event()

    def offer(self, records: list[Record]) -> None:
        self.queue.extend(records)
        self._wake.set()

    def start(self) -> None:
        """Queue what the broker never acknowledged before this start (unless the bug)."""
        self.counts.replays += 1
        self.changes += 1
        pending = list(self.wal.unconfirmed())
        if not self.replay:
            if pending:
                self.wal.confirm(pending[-1].offset)  # the bug: treated as sent
                self.counts.dropped += len(pending)
            return
        self.counts.replayed += len(pending)
        if pending:
            print(f"replaying {len(pending)} unconfirmed records from offset "
                  f"{pending[0].offset}", file=sys.stderr, flush=True)
        self.offer(pending)

    async def run(self) -> None:
        failing = 0
        while True:
            if not self.queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self.queue[i] for i in range(min(self.batch, len(self.queue)))]
            if self.crash.armed == "after-wal-before-xadd":
                await self._acked(batch)
            self.crash.reached("after-wal-before-xadd", f"offset {batch[0].offset}")
            try:
                added = await self.link.produce(batch, self.slot, len(self.queue) - len(batch))
            except SEND_ERRORS as exc:
                failing += 1
                self.counts.send_errors += 1
                if isinstance(exc, NotReplicated):  # in the stream, not on a replica yet
                    self.counts.unreplicated += 1
                self.changes += 1
                if failing == 1:
                    print(f"send failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                await self.link.reset()
                if not self.replay:  # the bug: what the broker did not take is gone
                    self._pop(len(batch))
                    self.counts.dropped += len(batch)
                    self.wal.confirm(batch[-1].offset)
                    continue
                self.counts.resent += len(batch)
                await asyncio.sleep(self.backoff.delay(failing))
                continue
            if failing:
                failing = 0
                self.counts.send_recoveries += 1
                print("send recovered", file=sys.stderr, flush=True)
            self.crash.reached("after-xadd", f"offset {batch[-1].offset}")
            self._pop(len(batch))
            self.counts.sent += sum(added)
            self.counts.deduplicated += len(added) - sum(added)
            self.changes += 1
            self.wal.confirm(batch[-1].offset)

    def _pop(self, n: int) -> None:
        for _ in range(n):
            self.queue.popleft()

    async def _acked(self, batch: list[Record]) -> None:
        """Armed before the XADD: fire only once the callers have their confirmations, so
        the crash leaves orders confirmed to callers that only the WAL holds."""
        events = [r.acked.wait() for r in batch if r.acked is not None]
        if events:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*events), ACK_WAIT_S)

    async def checkpoints(self, every_s: float = 0.2) -> None:
        """Persist the confirmed offset now and then (losing one only means resending)."""
        while True:
            await asyncio.sleep(every_s)
            await asyncio.to_thread(self.wal.checkpoint)

    def oldest_ns(self) -> int | None:
        """When the oldest record the broker has not confirmed was accepted."""
        return self.queue[0].t_ns if self.queue else None

    def snapshot(self) -> dict[str, int]:
        return {**asdict(self.counts), "backlog": len(self.queue),
                "confirmed_offset": self.wal.confirmed}
