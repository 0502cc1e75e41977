"""The producer's write-ahead log: segment files of checksummed records, fsync'd in groups.

Why a WAL: an order the producer confirmed to its caller must survive a crash of the
producer and an absent broker. Each record is fsync'd before the caller hears `200`; the
broker acknowledgement that follows moves the *confirmed offset* (a checkpoint file), and
a restart resends every record after it. Group commit: the records of all requests that
arrive while one fsync runs go to disk together in the next write + fsync, so the fsync
cost per order falls as load rises (docs/reference-pipeline.md, Producer).

Layout in the pod's data dir: `wal/<first offset, 20 digits>.seg` (records in offset
order; a new segment past `segment_bytes`), `wal/confirmed` (the highest offset up to
which the broker acknowledged everything). A torn record at the end of the last segment
(a crash mid-write: never confirmed to anyone) is cut off at open.
Record: `>II` (body length, CRC32 of body) + body `>QQHH` (offset, accept time ns,
len(run id), len(order id)) + run id + order id + payload.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HEAD = struct.Struct(">II")
BODY = struct.Struct(">QQHH")
SUFFIX = ".seg"


@dataclass
class Record:
    offset: int
    t_ns: int
    run_id: str
    order_id: str
    payload: bytes
    acked: asyncio.Event | None = field(default=None, repr=False, compare=False)

    def encode(self) -> bytes:
        run, order = self.run_id.encode(), self.order_id.encode()
        body = BODY.pack(self.offset, self.t_ns, len(run), len(order)) + run + order + self.payload
        return HEAD.pack(len(body), zlib.crc32(body)) + body


def decode_all(data: bytes) -> tuple[list[Record], int]:
    """The whole records in `data`, and the length they cover (a torn tail is left out)."""
    out: list[Record] = []
    at = 0
    while at + HEAD.size <= len(data):
        length, crc = HEAD.unpack_from(data, at)
        body = data[at + HEAD.size: at + HEAD.size + length]
        if len(body) < length or length < BODY.size or zlib.crc32(body) != crc:
            break
        offset, t_ns, run_len, order_len = BODY.unpack_from(body)
        rest = body[BODY.size:]
        out.append(Record(offset, t_ns, rest[:run_len].decode(errors="replace"),
                          rest[run_len:run_len + order_len].decode(errors="replace"),
                          bytes(rest[run_len + order_len:])))
        at += HEAD.size + length
    return out, at


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class WalStats:
    appends: int = 0  # records made durable
    syncs: int = 0  # fsyncs (group commits)
    sync_s: float = 0.0  # time spent in write + fsync
    segments_removed: int = 0
    torn_bytes: int = 0  # cut off the last segment at open


class Wal:
    """Segmented append-only log. `append` is awaited by request handlers (group commit);
    the file work runs in a thread so the event loop keeps taking requests meanwhile."""

    def __init__(self, directory: Path, segment_bytes: int = 4 << 20, fsync: bool = True,
                 durable: Callable[[list[Record]], None] | None = None) -> None:
        self.dir = directory
        self.durable = durable  # told each group, in offset order, once it is on disk
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self.stats = WalStats()
        self.confirmed = self._read_confirmed()
        self._saved_confirmed = self.confirmed
        self.next_offset = self.confirmed + 1
        self._fd = -1
        self._size = 0
        self._queue: list[tuple[Record, asyncio.Future[None]]] = []
        self._wake: asyncio.Event | None = None  # made by writer(), in its own loop
        self._open_tail()

    # ------------------------------------------------------------ open, replay

    def segments(self) -> list[Path]:
        return sorted(self.dir.glob(f"*{SUFFIX}"))

    def _read_confirmed(self) -> int:
        try:
            return int((self.dir / "confirmed").read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _open_tail(self) -> None:
        """Cut a torn record off the last segment and continue after its last offset."""
        segs = self.segments()
        if not segs:
            return
        last = segs[-1]
        data = last.read_bytes()
        records, good = decode_all(data)
        if good < len(data):
            self.stats.torn_bytes += len(data) - good
            with last.open("r+b") as f:
                f.truncate(good)
                os.fsync(f.fileno())
        if records:
            self.next_offset = max(self.next_offset, records[-1].offset + 1)
        elif len(segs) > 1:
            prev, _ = decode_all(segs[-2].read_bytes())
            if prev:
                self.next_offset = max(self.next_offset, prev[-1].offset + 1)
        self._fd = os.open(last, os.O_WRONLY | os.O_APPEND)
        self._size = good

    def unconfirmed(self) -> Iterator[Record]:
        """Every record after the confirmed offset, in order: what a restart resends."""
        for seg in self.segments():
            records, _ = decode_all(seg.read_bytes())
            for record in records:
                if record.offset > self.confirmed:
                    yield record

    # ------------------------------------------------------------ append (group commit)

    def assign(self, run_id: str, order_id: str, payload: bytes) -> Record:
        record = Record(self.next_offset, time.time_ns(), run_id, order_id, payload)
        self.next_offset += 1
        return record

    async def append(self, record: Record) -> None:
        """Return once `record` is on disk (written and fsync'd with its group)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((record, done))
        if self._wake is not None:
            self._wake.set()
        await done

    async def writer(self) -> None:
        """The one task that writes: takes everything queued, one write + one fsync."""
        self._wake = wake = asyncio.Event()
        while True:
            if not self._queue:
                await wake.wait()
            wake.clear()
            batch, self._queue = self._queue, []
            if not batch:
                continue
            blob = b"".join(r.encode() for r, _ in batch)
            try:
                await asyncio.to_thread(self._write, blob, batch[0][0].offset)
            except OSError as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            self.stats.appends += len(batch)
            if self.durable is not None:
                self.durable([r for r, _ in batch])
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    def _write(self, blob: bytes, first_offset: int) -> None:
        t0 = time.perf_counter()
        if self._fd < 0 or self._size >= self.segment_bytes:
            self._roll(first_offset)
        os.write(self._fd, blob)
        if self.fsync:
            os.fdatasync(self._fd)
        self._size += len(blob)
        self.stats.syncs += 1
        self.stats.sync_s += time.perf_counter() - t0

    def _roll(self, first_offset: int) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        path = self.dir / f"{first_offset:020d}{SUFFIX}"
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = 0
        if self.fsync:
            _fsync_dir(self.dir)  # the new file's name survives a power loss too

    # ------------------------------------------------------------ confirmed offset

    def confirm(self, offset: int) -> None:
        """The broker acknowledged every record up to `offset` (kept in memory; `checkpoint`
        writes it). Losing a checkpoint only means resending more: the broker dedups."""
        self.confirmed = max(self.confirmed, offset)

    def checkpoint(self) -> None:
        if self.confirmed == self._saved_confirmed:
            return
        tmp = self.dir / "confirmed.tmp"
        tmp.write_text(str(self.confirmed))
        tmp.replace(self.dir / "confirmed")
        self._saved_confirmed = self.confirmed
        self._drop_confirmed_segments()

    def _drop_confirmed_segments(self) -> None:
        """Remove segments every record of which is confirmed (never the one written to)."""
        segs = self.segments()
        for seg, following in itertools.pairwise(segs):
            if int(following.stem) - 1 <= self.confirmed:
                seg.unlink(missing_ok=True)
                self.stats.segments_removed += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
