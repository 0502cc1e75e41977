"""The history file format (version 1): a JSON header, then fixed 32-byte records.

Fixed-size little-endian records let the reader map a file straight into numpy.  Kinds:
- DONE: one per publish: order id, invoke and completion times (ns), outcome, error, poison.
- CLAIM: ids [order_id, t_done) step `aux` that this process may send from time t_invoke on;
  written to the kernel BEFORE any of them is sent, so a process that dies leaves them behind
  and the reader turns each claimed id without a DONE into INFO (t_done -1).
- RELEASE: claimed ids certainly never sent (an early stop); same layout as CLAIM.
- NAME: error code `error` is the class name in bytes 4..31 (NUL-padded UTF-8).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import orjson

MAGIC = b"PCHIST\r\n"
VERSION = 1
SUFFIX = ".pch"
RECORD_SIZE = 32
NAME_BYTES = 28

DONE, CLAIM, RELEASE, NAME = 1, 2, 3, 4
FLAG_POISON = 1

RECORD = np.dtype(
    [
        ("kind", "u1"),
        ("outcome", "i1"),
        ("error", "i1"),
        ("flags", "u1"),
        ("aux", "<u4"),
        ("order_id", "<i8"),
        ("t_invoke", "<i8"),
        ("t_done", "<i8"),
    ]
)
assert RECORD.itemsize == RECORD_SIZE
PACK = struct.Struct("<BbbBIqqq")
_PREFIX = struct.Struct("<8sII")


class HistoryError(ValueError):
    """A history file that cannot be read (bad magic, unknown version, inconsistent rows)."""


def encode_header(meta: dict[str, Any]) -> bytes:
    """Magic, version, JSON length, JSON padded with spaces to a multiple of 32 bytes."""
    body = orjson.dumps({"format": "pipechaos.history", "version": VERSION, **meta})
    total = _PREFIX.size + len(body)
    body += b" " * (-total % RECORD_SIZE)
    return _PREFIX.pack(MAGIC, VERSION, len(body)) + body


def decode_header(head: bytes, name: str) -> tuple[dict[str, Any], int]:
    """(header JSON, byte offset of the first record) or HistoryError."""
    if len(head) < _PREFIX.size:
        raise HistoryError(f"{name}: too short to be a pipechaos history file")
    magic, version, length = _PREFIX.unpack_from(head)
    if magic != MAGIC:
        raise HistoryError(f"{name}: not a pipechaos history file")
    if version != VERSION:
        raise HistoryError(f"{name}: history format version {version} is not supported")
    end = _PREFIX.size + length
    if len(head) < end:
        raise HistoryError(f"{name}: truncated header")
    try:
        meta = orjson.loads(head[_PREFIX.size : end])
    except orjson.JSONDecodeError as e:
        raise HistoryError(f"{name}: corrupt header ({e})") from None
    if not isinstance(meta, dict):
        raise HistoryError(f"{name}: corrupt header")
    return meta, end


def name_record(code: int, name: str) -> bytes:
    raw = name.encode()[:NAME_BYTES]
    return struct.pack("<Bbbb", NAME, 0, code, 0) + raw.ljust(NAME_BYTES, b"\0")
