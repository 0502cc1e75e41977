"""The producer's write-ahead log on real files: durable appends in offset order, replay
from the confirmed offset, a torn tail cut off, segments rolled and retired."""

from __future__ import annotations

import asyncio
from pathlib import Path

from targets.reference.producer.wal import Record, Wal, decode_all


def _append(wal: Wal, n: int, run: str = "r1") -> list[Record]:
    async def go() -> list[Record]:
        writer = asyncio.create_task(wal.writer())
        records = [wal.assign(run, str(i), b'{"x": %d}' % i) for i in range(n)]
        await asyncio.gather(*(wal.append(r) for r in records))
        writer.cancel()
        return records

    return asyncio.run(go())


def test_appends_survive_reopen_and_replay_after_the_confirmed_offset(tmp_path: Path) -> None:
    told: list[int] = []
    wal = Wal(tmp_path, durable=lambda rs: told.extend(r.offset for r in rs))
    records = _append(wal, 10)
    assert [r.offset for r in records] == list(range(1, 11))
    assert told == list(range(1, 11)), "durable groups are told in offset order"
    assert wal.stats.syncs < 10, "concurrent appends share an fsync (group commit)"
    wal.confirm(4)
    wal.checkpoint()
    wal.close()
    again = Wal(tmp_path)
    assert again.confirmed == 4
    assert [(r.offset, r.order_id, r.payload) for r in again.unconfirmed()] == [
        (i, str(i - 1), b'{"x": %d}' % (i - 1)) for i in range(5, 11)]
    assert again.next_offset == 11, "a reopened log continues after its last record"


def test_a_torn_tail_is_cut_off(tmp_path: Path) -> None:
    wal = Wal(tmp_path)
    _append(wal, 3)
    wal.close()
    seg = wal.segments()[-1]
    whole = seg.read_bytes()
    seg.write_bytes(whole + Record(4, 0, "r1", "x", b"partial").encode()[:9])
    again = Wal(tmp_path)
    assert again.stats.torn_bytes == 9
    assert seg.read_bytes() == whole
    assert [r.offset for r in again.unconfirmed()] == [1, 2, 3]
    assert again.next_offset == 4


def test_a_corrupt_record_ends_the_readable_log(tmp_path: Path) -> None:
    data = b"".join(Record(i, 0, "r", str(i), b"p").encode() for i in (1, 2, 3))
    bad = bytearray(data)
    bad[len(data) // 2] ^= 0xFF
    records, good = decode_all(bytes(bad))
    assert len(records) < 3 and good < len(data)


def test_segments_roll_and_confirmed_ones_are_removed(tmp_path: Path) -> None:
    wal = Wal(tmp_path, segment_bytes=4096)
    for _ in range(10):  # each group lands in the current segment, rolling when it is full
        _append(wal, 40)
    segs = wal.segments()
    assert len(segs) >= 3
    wal.confirm(wal.next_offset - 1)
    wal.checkpoint()
    assert wal.segments() == [segs[-1]], "every segment but the one written to is retired"
    assert wal.stats.segments_removed == len(segs) - 1
