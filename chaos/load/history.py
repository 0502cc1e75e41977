"""Publish history: a buffered writer per load process and the vectorised reader.

Memory stays flat however long the run: the writer keeps one fixed buffer, and claims are
flushed to the kernel before the ids they cover are sent (see `history_format`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from chaos.checks.model import FAIL, INFO, OK, History
from chaos.load.history_format import (
    CLAIM,
    DONE,
    FLAG_POISON,
    NAME,
    NAME_BYTES,
    PACK,
    RECORD,
    RECORD_SIZE,
    RELEASE,
    SUFFIX,
    HistoryError,
    decode_header,
    encode_header,
    name_record,
)
from chaos.load.payload import poison_mask

__all__ = ["OUTCOME_CODES", "HistoryError", "HistoryWriter", "empty_history", "read_history"]

OUTCOME_CODES = {"ok": OK, "fail": FAIL, "info": INFO}
MAX_ERRORS = 127
CHUNK = 1 << 16  # records per read: 2 MB, so the per-field copies stay in cache


class HistoryWriter:
    """Appends one process's history file.  Not thread-safe (one writer per process)."""

    def __init__(
        self,
        path: Path,
        *,
        run_id: str,
        process: str = "load-0",
        meta: dict[str, Any] | None = None,
        buffer_records: int = 4096,
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._buf = bytearray(buffer_records * RECORD_SIZE)
        self._used = 0
        self._codes: dict[str, int] = {}
        header = {"run_id": run_id, "process": process, "pid": os.getpid(), **(meta or {})}
        header["created"] = time.time_ns()
        os.write(self._fd, encode_header(header))

    @property
    def closed(self) -> bool:
        return self._fd is None

    def error_code(self, name: str) -> int:
        """The code for an error class name, registering it (a NAME record) on first use."""
        code = self._codes.get(name)
        if code is None:
            if len(self._codes) >= MAX_ERRORS:
                return self.error_code("OtherError") if name != "OtherError" else MAX_ERRORS - 1
            code = len(self._codes)
            self._codes[name] = code
            self._append(name_record(code, name))
        return code

    def done(
        self,
        order_id: int,
        outcome: int,
        t_invoke: int,
        t_done: int,
        *,
        poison: bool = False,
        error: str | None = None,
    ) -> None:
        """Record one publish and its completion (buffered)."""
        code = -1 if error is None else self.error_code(error)
        if self._used + RECORD_SIZE > len(self._buf):
            self.flush()
        PACK.pack_into(
            self._buf, self._used, DONE, outcome, code, FLAG_POISON if poison else 0, 0,
            order_id, t_invoke, t_done,
        )  # fmt: skip
        self._used += RECORD_SIZE

    def claim(self, first: int, end: int, stride: int = 1, t: int | None = None) -> None:
        """Declare ids first, first+stride, ... < end about to be sent; reaches the kernel now."""
        self._range(CLAIM, first, end, stride, t)
        self.flush()

    def wait_claimed(self, order_id: int) -> None:
        """Return once the claim covering order_id is recorded (a file: at claim())."""

    def append_raw(self, data: bytes) -> None:
        """Records encoded elsewhere (a worker's, relayed by the master), written as is."""
        self.flush()
        self._write(data)

    def release(self, first: int, end: int, stride: int = 1) -> None:
        """Claimed ids that were certainly never sent."""
        if end > first:
            self._range(RELEASE, first, end, stride, None)

    def write_arrays(
        self,
        order_id: npt.NDArray[np.int64],
        outcome: npt.NDArray[np.int8],
        t_invoke: npt.NDArray[np.int64],
        t_done: npt.NDArray[np.int64],
        poison: npt.NDArray[np.bool_] | None = None,
        error_code: npt.NDArray[np.int8] | None = None,
        errors: list[str] | tuple[str, ...] = (),
        chunk: int = 1 << 20,
    ) -> None:
        """Bulk DONE records (synthetic histories, benchmarks); error_code indexes `errors`."""
        codes = np.asarray([self.error_code(e) for e in errors] + [-1], dtype=np.int8)
        self.flush()
        n = len(order_id)
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            rec = np.zeros(hi - lo, dtype=RECORD)
            rec["kind"] = DONE
            rec["outcome"] = outcome[lo:hi]
            rec["order_id"] = order_id[lo:hi]
            rec["t_invoke"] = t_invoke[lo:hi]
            rec["t_done"] = t_done[lo:hi]
            if poison is not None:
                rec["flags"] = poison[lo:hi].astype(np.uint8) * FLAG_POISON
            rec["error"] = -1 if error_code is None else codes[error_code[lo:hi]]
            self._write(rec.tobytes())

    def flush(self) -> None:
        if self._used and self._fd is not None:
            self._write(bytes(self._buf[: self._used]))
            self._used = 0

    def close(self) -> None:
        if self._fd is not None:
            self.flush()
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _range(self, kind: int, first: int, end: int, stride: int, t: int | None) -> None:
        if stride < 1 or first < 0:
            raise ValueError("claims need first >= 0 and stride >= 1")
        now = time.time_ns() if t is None else t
        self._append(PACK.pack(kind, 0, -1, 0, stride, first, now, end))

    def _append(self, record: bytes) -> None:
        if self._used + len(record) > len(self._buf):
            self.flush()
        self._buf[self._used : self._used + len(record)] = record
        self._used += len(record)

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError(f"history writer for {self.path} is closed")
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]


# ---------------------------------------------------------------- reader

_Cols = dict[str, npt.NDArray[Any]]


def empty_history(errors: list[str] | None = None) -> History:
    i64, i8 = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8)
    return History(i64, i8, i64, i64, np.zeros(0, np.bool_), errors or [], i8)


def read_history(run_dir: Path) -> History:
    """Merge every history file in run_dir/history into one row per order id.

    No history directory (a `load: none` run) gives an empty History.  Raises HistoryError
    on a corrupt file or an order id recorded twice.
    """
    files = sorted((run_dir / "history").glob(f"*{SUFFIX}"))
    errors: list[str] = []
    parts = [_read_file(f, errors) for f in files]
    parts = [p for p in parts if p["order_id"].size]
    if not parts:
        return empty_history(errors)
    cols = _merge_dense(parts)
    if cols is None:  # sparse ids or a duplicate: sort (and name the duplicate)
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        del parts
        order = np.argsort(cols["order_id"], kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
        ids = cols["order_id"]
        dup = np.flatnonzero(ids[1:] == ids[:-1])
        if dup.size:
            raise HistoryError(f"order id {int(ids[dup[0]])} is recorded twice in {run_dir}")
    return History(
        order_id=cols["order_id"],
        outcome=cols["outcome"],
        t_invoke=cols["t_invoke"],
        t_done=cols["t_done"],
        poison=cols["poison"],
        error=errors,
        error_code=cols["error_code"],
    )


def _progression(ids: npt.NDArray[np.int64]) -> slice | None:
    """ids as a slice lo-relative `start::step` when they are an arithmetic progression (one
    load process writing its strided ids in order), so merging is a strided copy."""
    if ids.size < 2:
        return None
    step = int(ids[1] - ids[0])
    if step < 1 or int(ids[-1] - ids[0]) != step * (ids.size - 1):
        return None
    for lo in range(1, ids.size, CHUNK):  # in chunks: no full-size temporary
        part = ids[lo - 1 : lo + CHUNK]
        if not np.all(part[1:] - part[:-1] == step):
            return None
    return slice(int(ids[0]), int(ids[-1]) + 1, step)


def _merge_dense(parts: list[_Cols]) -> _Cols | None:
    """The usual case, ids lo..hi-1 each exactly once: place rows by id, no sort, one copy.
    Each column is merged then dropped from the parts, so the peak is one column over."""
    lo = min(int(p["order_id"].min()) for p in parts)
    hi = max(int(p["order_id"].max()) + 1 for p in parts)
    n = sum(p["order_id"].size for p in parts)
    if hi - lo != n:
        return None
    places: list[slice | npt.NDArray[np.intp]] = []
    seen = np.zeros(n, dtype=np.bool_)
    for p in parts:
        run = _progression(p["order_id"])
        place = (
            slice(run.start - lo, run.stop - lo, run.step) if run
            else (p["order_id"] - lo).astype(np.intp)
        )  # fmt: skip
        seen[place] = True
        places.append(place)
    if not seen.all():  # n rows over n slots with a hole: some id is there twice
        return None
    del seen
    out: _Cols = {"order_id": np.arange(lo, hi, dtype=np.int64)}
    for p in parts:
        del p["order_id"]
    for k in list(parts[0]):
        out[k] = np.empty(n, dtype=parts[0][k].dtype)
        for p, place in zip(parts, places, strict=True):
            out[k][place] = p.pop(k)
    return out


def _records(path: Path, offset: int, count: int) -> Iterator[npt.NDArray[Any]]:
    """The file's records in chunks read into memory (never the whole file at once)."""
    with path.open("rb") as f:
        f.seek(offset)
        for lo in range(0, count, CHUNK):
            chunk: npt.NDArray[Any] = np.fromfile(f, dtype=RECORD, count=min(CHUNK, count - lo))
            yield chunk


def _read_file(path: Path, errors: list[str]) -> _Cols:
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(min(size, 1 << 16))
    meta, offset = decode_header(head, path.name)
    count = (size - offset) // RECORD_SIZE  # a partial last record (a killed writer) is ignored
    fields = ("order_id", "outcome", "t_invoke", "t_done", "flags", "error")
    cols: _Cols = {name: np.empty(count, dtype=RECORD[name]) for name in fields}
    other: list[npt.NDArray[Any]] = []  # NAME, CLAIM, RELEASE: a few per hundred publishes
    used = 0
    for chunk in _records(path, offset, count):
        done = chunk["kind"] == DONE
        if not done.all():
            other.append(chunk[~done])
            chunk = chunk[done]
        for name in fields:
            cols[name][used : used + chunk.size] = chunk[name]
        used += chunk.size
    if used < count:
        cols = {name: c[:used].copy() for name, c in cols.items()}
    recs = np.concatenate(other) if other else np.zeros(0, dtype=RECORD)
    kind = recs["kind"]
    remap = _error_remap(recs, kind, errors)
    cols["poison"] = (cols.pop("flags") & FLAG_POISON).astype(np.bool_)
    cols["error_code"] = remap[cols.pop("error").astype(np.int16) + 1]
    bad = (cols["outcome"] < OK) | (cols["outcome"] > INFO)
    if bad.any():
        raise HistoryError(f"{path.name}: unknown outcome code {int(cols['outcome'][bad][0])}")
    ids = cols["order_id"]
    claims = recs[kind == CLAIM]
    if claims.size:
        unknown, claim_t = _unanswered(claims, recs[kind == RELEASE], ids)
        if unknown.size:
            cols = _with_unknown(cols, unknown, claim_t, meta)
    return cols


def _error_remap(recs: npt.NDArray[Any], kind: npt.NDArray[Any], errors: list[str]) -> Any:
    """Array mapping (file code + 1) to the merged table's code (-1 stays -1)."""
    remap = np.full(257, -1, dtype=np.int8)
    rows = np.flatnonzero(kind == NAME)
    if rows.size:
        raw = np.asarray(recs[rows]).view(np.uint8).reshape(-1, RECORD_SIZE)
        for code, chunk in zip(np.asarray(recs["error"][rows]), raw, strict=True):
            name = bytes(chunk[4 : 4 + NAME_BYTES]).rstrip(b"\0").decode(errors="replace")
            if name not in errors:
                errors.append(name)
            remap[int(code) + 1] = errors.index(name)
    return remap


def _expand(ranges: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every id covered by CLAIM/RELEASE records, with the time of the record covering it."""
    first = np.asarray(ranges["order_id"], dtype=np.int64)
    end = np.asarray(ranges["t_done"], dtype=np.int64)
    step = np.maximum(np.asarray(ranges["aux"], dtype=np.int64), 1)
    counts = np.maximum((end - first + step - 1) // step, 0)
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    ids = np.repeat(first, counts) + np.repeat(step, counts) * (np.arange(total) - starts)
    times = np.repeat(np.asarray(ranges["t_invoke"], dtype=np.int64), counts)
    return ids, times


def _unanswered(
    claims: npt.NDArray[Any], releases: npt.NDArray[Any], done: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Claimed ids with neither a DONE nor a RELEASE record, and the time of their claim."""
    ranges = np.concatenate([claims, releases])
    first = np.asarray(ranges["order_id"], dtype=np.int64)
    end = np.asarray(ranges["t_done"], dtype=np.int64)
    step = np.maximum(np.asarray(ranges["aux"], dtype=np.int64), 1)
    lo = int(min(first.min(), done.min() if done.size else first.min()))
    hi = int(max(end.max(), done.max() + 1 if done.size else end.max()))
    claimed = int(np.maximum((end - first + step - 1) // step, 0)[: claims.size].sum())
    if hi - lo > 4 * (claimed + done.size) + 1024:  # sparse ids: sets instead of a table
        ids, times = _expand(claims)
        settled = np.concatenate([done, _expand(releases)[0]])
        keep = ~np.isin(ids, settled)
        return ids[keep], times[keep]
    pending = np.zeros(hi - lo, dtype=np.bool_)  # one flag per id in range: O(n), no sort
    n = claims.size
    for a, b, k in zip(first[:n] - lo, end[:n] - lo, step[:n], strict=True):
        pending[a:b:k] = True
    pending[done - lo] = False
    for a, b, k in zip(first[n:] - lo, end[n:] - lo, step[n:], strict=True):
        pending[a:b:k] = False
    ids = np.flatnonzero(pending) + lo
    by_first = np.argsort(first[: claims.size], kind="stable")
    starts = first[: claims.size][by_first]
    at = np.searchsorted(starts, ids, side="right") - 1  # the claim covering each id
    times = np.asarray(claims["t_invoke"], dtype=np.int64)[by_first][at]
    return ids, times


def _with_unknown(
    cols: _Cols, ids: npt.NDArray[np.int64], t: npt.NDArray[np.int64], meta: dict[str, Any]
) -> _Cols:
    """Append claimed ids without a completion as INFO rows (t_done -1)."""
    payload = meta.get("payload") or {}
    seed, fraction = int(payload.get("seed", 0)), float(payload.get("poison", 0.0))
    extra: _Cols = {
        "order_id": ids,
        "outcome": np.full(ids.size, INFO, dtype=np.int8),
        "t_invoke": t,
        "t_done": np.full(ids.size, -1, dtype=np.int64),
        "poison": poison_mask(seed, fraction, ids),
        "error_code": np.full(ids.size, -1, dtype=np.int8),
    }
    return {k: np.concatenate([cols[k], extra[k]]) for k in cols}
