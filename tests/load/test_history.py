"""History writer and reader: round trip, crash semantics, merging, corrupt input, memory."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from chaos.checks.model import FAIL, INFO, OK
from chaos.load.history import HistoryError, HistoryWriter, read_history
from chaos.load.history_format import RECORD, RECORD_SIZE, decode_header
from chaos.load.payload import poison_mask


def writer(run_dir: Path, k: int = 0, **meta: object) -> HistoryWriter:
    return HistoryWriter(run_dir / "history" / f"load-{k}.pch", run_id="run", meta=dict(meta))


def test_round_trip_sorted_with_errors(tmp_path: Path) -> None:
    with writer(tmp_path) as w:
        w.claim(0, 4)
        w.done(2, FAIL, 30, 31, error="ConnectionRefusedError")
        w.done(0, OK, 10, 11, poison=True)
        w.done(3, INFO, 40, 42, error="TimeoutError")
        w.done(1, OK, 20, 21)
    h = read_history(tmp_path)
    assert h.order_id.tolist() == [0, 1, 2, 3]
    assert h.outcome.tolist() == [OK, OK, FAIL, INFO]
    assert h.t_invoke.tolist() == [10, 20, 30, 40]
    assert h.t_done.tolist() == [11, 21, 31, 42]
    assert h.poison.tolist() == [True, False, False, False]
    assert [h.error[c] if c >= 0 else None for c in h.error_code] == [
        None, None, "ConnectionRefusedError", "TimeoutError",
    ]  # fmt: skip


def test_claimed_without_completion_is_info_with_recomputed_poison(tmp_path: Path) -> None:
    w = writer(tmp_path, payload={"seed": 11, "poison": 0.5})
    w.claim(0, 200, 1, t=5)
    for i in range(50):
        w.done(i, OK, 100 + i, 200 + i, poison=bool(poison_mask(11, 0.5, np.asarray([i]))[0]))
    w.flush()
    os.close(w._fd)  # type: ignore[arg-type]  # simulate a process killed here
    h = read_history(tmp_path)
    assert h.order_id.tolist() == list(range(200))
    assert (h.outcome[50:] == INFO).all() and (h.t_done[50:] == -1).all()
    assert (h.t_invoke[50:] == 5).all()
    assert (h.poison == poison_mask(11, 0.5, np.arange(200, dtype=np.int64))).all()


def test_released_ids_are_not_orders(tmp_path: Path) -> None:
    with writer(tmp_path) as w:
        w.claim(1, 21, 2)
        w.done(1, OK, 1, 2)
        w.done(3, OK, 1, 2)
        w.release(5, 21, 2)
    assert read_history(tmp_path).order_id.tolist() == [1, 3]


def test_strided_files_merge_into_one_gapless_history(tmp_path: Path) -> None:
    for k in range(3):
        with writer(tmp_path, k) as w:
            w.claim(k, 300, 3)
            for i in range(k, 300, 3):
                w.done(i, OK, i, i + 1, error=f"E{k}" if i % 2 else None)
    h = read_history(tmp_path)
    assert h.order_id.tolist() == list(range(300))
    assert sorted(h.error) == ["E0", "E1", "E2"]
    assert all(h.error[h.error_code[i]] == f"E{i % 3}" for i in range(1, 300, 2))


def test_write_arrays_matches_single_records(tmp_path: Path) -> None:
    n = 1000
    ids = np.random.default_rng(1).permutation(n).astype(np.int64)
    codes = (ids % 3 - 1).astype(np.int8)
    with writer(tmp_path) as w:
        w.write_arrays(ids, np.full(n, OK, np.int8), ids * 10, ids * 10 + 3,
                       poison=ids % 7 == 0, error_code=codes, errors=["A", "B"])  # fmt: skip
    h = read_history(tmp_path)
    assert h.order_id.tolist() == list(range(n))
    assert (h.t_done - h.t_invoke == 3).all()
    assert (h.poison == (h.order_id % 7 == 0)).all()
    names = [h.error[c] if c >= 0 else None for c in h.error_code[:3]]
    assert names == [None, "A", "B"]


def test_duplicate_order_is_an_error(tmp_path: Path) -> None:
    with writer(tmp_path, 0) as w:
        w.done(7, OK, 1, 2)
    with writer(tmp_path, 1) as w:
        w.done(7, OK, 1, 2)
    with pytest.raises(HistoryError, match="order id 7 is recorded twice"):
        read_history(tmp_path)


def test_torn_last_record_is_ignored(tmp_path: Path) -> None:
    with writer(tmp_path) as w:
        w.done(0, OK, 1, 2)
    with (tmp_path / "history" / "load-0.pch").open("ab") as f:
        f.write(b"\x01" * (RECORD_SIZE - 5))
    assert read_history(tmp_path).order_id.tolist() == [0]


def test_not_a_history_file(tmp_path: Path) -> None:
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "x.pch").write_bytes(b"hello world, not a history at all")
    with pytest.raises(HistoryError, match=r"x.pch: not a pipechaos history file"):
        read_history(tmp_path)


def test_unknown_version(tmp_path: Path) -> None:
    with writer(tmp_path) as w:
        w.done(0, OK, 1, 2)
    path = tmp_path / "history" / "load-0.pch"
    data = bytearray(path.read_bytes())
    data[8] = 9
    path.write_bytes(bytes(data))
    with pytest.raises(HistoryError, match="version 9 is not supported"):
        read_history(tmp_path)


def test_header_is_versioned_json(tmp_path: Path) -> None:
    with writer(tmp_path, 2, index=2):
        pass
    meta, offset = decode_header((tmp_path / "history" / "load-2.pch").read_bytes(), "f")
    assert meta["format"] == "pipechaos.history" and meta["version"] == 1
    assert meta["run_id"] == "run" and meta["index"] == 2
    assert offset % RECORD_SIZE == 0 and RECORD.itemsize == RECORD_SIZE


def test_no_history_dir_is_empty(tmp_path: Path) -> None:
    h = read_history(tmp_path)
    assert h.order_id.size == 0 and h.error == []


def test_writer_memory_is_flat(tmp_path: Path) -> None:
    """Recording 200,000 publishes one by one allocates no more than recording 20,000."""

    def peak(n: int, k: int) -> int:
        tracemalloc.start()
        with writer(tmp_path, k) as w:
            w.claim(k * 10**6, k * 10**6 + n)
            for i in range(k * 10**6, k * 10**6 + n):
                w.done(i, OK, i, i + 1, error="TimeoutError" if i % 5 == 0 else None)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, big = peak(20_000, 1), peak(200_000, 2)
    assert big < small * 1.5 + 64_000
    assert read_history(tmp_path).order_id.size == 220_000


def test_duplicate_hidden_in_a_dense_range_is_an_error(tmp_path: Path) -> None:
    with writer(tmp_path, 0) as w:
        w.done(0, OK, 1, 2)
        w.done(2, OK, 1, 2)
    with writer(tmp_path, 1) as w:
        w.done(2, INFO, 1, 2)  # three rows over ids 0..2, with 1 missing and 2 twice
    with pytest.raises(HistoryError, match="order id 2 is recorded twice"):
        read_history(tmp_path)


def test_sparse_ids_are_sorted(tmp_path: Path) -> None:
    with writer(tmp_path) as w:
        w.claim(10**12, 10**12 + 3)
        w.done(10**12 + 1, OK, 1, 2)
        w.done(5, FAIL, 1, 2)
    h = read_history(tmp_path)
    assert h.order_id.tolist() == [5, 10**12, 10**12 + 1, 10**12 + 2]
    assert h.outcome.tolist() == [FAIL, INFO, OK, INFO]
