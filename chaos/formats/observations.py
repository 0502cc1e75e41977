"""The observations file container (docs/observations.md): JSON manifest + binary columns.

Version 2 is version 1 with every integer array moved out of the JSON into a sidecar file
of raw little-endian columns, each in the narrowest integer width that holds it. The JSON
(`observations.json`) keeps everything else and, where an array was, a reference
`{"$array": {"dtype", "offset", "length"}}`. Reading ten million orders is then a few
`readinto` calls instead of parsing ~130 million numbers from text.

Neutral on purpose: the observers write through `write_observations`, the checks read
through `read_document`; neither knows the other, and neither knows the byte layout.
Arrays are found generically (any integer array anywhere in the document), so fields a
newer observer adds (an extra per-order column, a new top-level section) travel through
unchanged and readers that do not know them ignore them.
"""

from __future__ import annotations

import io
import os
import secrets
import struct
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

FORMAT = "pipechaos.observations"
VERSION = 2
COLUMNS_SUFFIX = ".columns"
MAGIC = b"PCOBSCOL"
HEADER = struct.Struct("<8sII16s")  # magic, version, reserved, token (matches the manifest)
ALIGN = 64
REF = "$array"
DTYPES = ("|i1", "<i2", "<i4", "<i8")


class ObservationsFormatError(ValueError):
    """The manifest and its columns do not fit together; one line saying why."""


def narrow(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The narrowest of int8/16/32/64 holding every value, little-endian."""
    if a.size == 0:
        return a.astype("<i8")
    lo, hi = int(a.min()), int(a.max())
    for kind in DTYPES:
        info = np.iinfo(np.dtype(kind))
        if info.min <= lo and hi <= info.max:
            return a.astype(kind, copy=False)
    raise ValueError(f"integers beyond int64 ({lo}..{hi}) cannot be a column")


COLUMNAR = ("orders", "effects", "dead_letters")  # sections whose integer lists are columns


def _as_int_array(value: Any, columnar: bool) -> npt.NDArray[Any] | None:
    """An integer array to move into the columns, or None to leave the value in the JSON.
    numpy integer arrays move wherever they are; plain lists of integers only inside the
    columnar sections, so a list in `settings` or an unknown section reads back as a list."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iu" and value.ndim == 1:
            return value
        return None
    if columnar and isinstance(value, list) and value and all(
        type(v) is int or isinstance(v, np.integer) for v in value
    ):
        try:
            return np.asarray(value, dtype=np.int64)
        except OverflowError:
            return None  # beyond int64: JSON keeps it exact
    return None


def _lift(value: Any, arrays: list[npt.NDArray[Any]], at: list[int], columnar: bool) -> Any:
    """The document with its integer arrays replaced by references (offsets filled in)."""
    if isinstance(value, dict):
        return {k: _lift(v, arrays, at, columnar) for k, v in value.items()}
    array = _as_int_array(value, columnar)
    column = _narrow_or_none(array)
    if column is not None:
        arrays.append(column)
        ref = {"dtype": column.dtype.str, "offset": at[0], "length": int(column.size)}
        at[0] += -(-column.nbytes // ALIGN) * ALIGN
        return {REF: ref}
    if isinstance(value, list | tuple):
        return [_lift(v, arrays, at, columnar) for v in value]
    return value


def _narrow_or_none(array: npt.NDArray[Any] | None) -> npt.NDArray[Any] | None:
    try:
        return None if array is None else narrow(array)
    except ValueError:
        return None  # unsigned values beyond int64: left to the JSON, exact


def columns_path(manifest: Path) -> Path:
    return manifest.with_suffix(COLUMNS_SUFFIX)


def write_observations(path: Path, doc: dict[str, Any]) -> None:
    """Write `doc` (the version 1 document an observer builds: numpy arrays or lists) as
    version 2: columns first, manifest last, each renamed into place, so a reader never
    sees a manifest without its columns."""
    arrays: list[npt.NDArray[Any]] = []
    at = [HEADER.size + (-HEADER.size % ALIGN)]
    body = {k: _lift(v, arrays, at, k in COLUMNAR) for k, v in doc.items()}
    token = secrets.token_bytes(16)
    side = columns_path(path)
    manifest = {
        **body,
        "format": FORMAT,
        "version": VERSION,
        "columns": {"file": side.name, "bytes": at[0], "token": token.hex()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_side, tmp = side.with_name(side.name + ".tmp"), path.with_name(path.name + ".tmp")
    with tmp_side.open("wb") as f:
        head = HEADER.pack(MAGIC, VERSION, 0, token)
        f.write(head + b"\0" * (-len(head) % ALIGN))
        for column in arrays:
            np.ascontiguousarray(column).tofile(f)
            f.write(b"\0" * (-column.nbytes % ALIGN))
        f.flush()
        os.fsync(f.fileno())
    tmp_side.replace(side)
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_SERIALIZE_NUMPY))
    tmp.replace(path)


def _read_column(f: io.BufferedReader, ref: Any, size: int, where: str) -> npt.NDArray[Any]:
    if not isinstance(ref, dict) or ref.get("dtype") not in DTYPES:
        raise ObservationsFormatError(f"{where}: bad array reference {ref!r}")
    offset, length = ref.get("offset"), ref.get("length")
    if not (isinstance(offset, int) and isinstance(length, int) and offset >= 0 <= length):
        raise ObservationsFormatError(f"{where}: bad array reference {ref!r}")
    out = np.empty(length, dtype=np.dtype(ref["dtype"]))
    if offset + out.nbytes > size:
        raise ObservationsFormatError(f"{where}: array at byte {offset} runs past the end")
    f.seek(offset)
    if f.readinto(out.data.cast("B")) != out.nbytes:
        raise ObservationsFormatError(f"{where}: array at byte {offset} is truncated")
    return out


def _resolve(value: Any, f: io.BufferedReader, size: int, where: str) -> Any:
    if isinstance(value, dict):
        if REF in value:
            return _read_column(f, value[REF], size, where)
        return {k: _resolve(v, f, size, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        return [_resolve(v, f, size, where) for v in value]
    return value  # scalars, and lists of them (a dead-letter reason per entry) as they are


def resolve_columns(manifest: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """A version 2 manifest with every array reference replaced by its numpy array."""
    name = manifest.name
    info = doc.get("columns")
    if not isinstance(info, dict) or not isinstance(info.get("file"), str):
        raise ObservationsFormatError(f"{name}: columns: missing or not an object")
    file = info["file"]
    if not file or "/" in file or "\\" in file or file in (".", ".."):
        raise ObservationsFormatError(f"{name}: columns.file must be a file name, not {file!r}")
    side = manifest.with_name(file)
    try:
        with side.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(HEADER.size)
            if len(head) < HEADER.size:
                raise ObservationsFormatError(f"{file}: too short to be observation columns")
            magic, version, _, token = HEADER.unpack(head)
            if magic != MAGIC:
                raise ObservationsFormatError(f"{file}: not a pipechaos observation columns file")
            if version != VERSION or token.hex() != info.get("token"):
                raise ObservationsFormatError(
                    f"{file}: does not belong to {name} (written by another run or cut short)"
                )
            body = {k: v for k, v in doc.items() if k != "columns"}
            return {**_resolve(body, f, size, name), "columns": info}
    except OSError as exc:
        raise ObservationsFormatError(f"{file}: cannot read ({exc.strerror or exc})") from None


def read_document(manifest: Path) -> dict[str, Any]:
    """The whole document with arrays as numpy (version 2) or lists (version 1): for tools
    and tests. The checks read big version 1 files with their own streaming parser."""
    doc = orjson.loads(manifest.read_bytes())
    if not isinstance(doc, dict):
        raise ObservationsFormatError(f"{manifest.name}: not a JSON object")
    return resolve_columns(manifest, doc) if doc.get("version") == VERSION else doc


def to_lists(value: Any) -> Any:
    """The document with numpy arrays turned into lists (as version 1 JSON would load)."""
    if isinstance(value, dict):
        return {k: to_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_lists(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
