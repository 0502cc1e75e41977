"""Read observations.json (docs/observations.md, format versions 1 and 2) into `Observations`.

Version 2 (what observers write now) is a small JSON manifest whose arrays live in a binary
sidecar (`chaos.formats.observations` resolves them). Version 1 is columnar JSON: large
numeric arrays are parsed straight into numpy (`np.fromstring` on the array's text)
instead of through Python lists, which is 3x faster and avoids ~36 bytes per number of
transient objects at ten million orders; the small rest of the document goes through orjson.
"""

from __future__ import annotations

import mmap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from chaos.checks.handlers_file import HandledByError, read_handled_by
from chaos.checks.model import I64, OUTCOMES, DeadLetters, Ints, Observations
from chaos.formats.observations import FORMAT, ObservationsFormatError, resolve_columns

VERSIONS = (1, 2)
ORDER_COLUMNS = ("order_id", "outcome", "t_terminal", "redeliveries", "value", "qty", "points")
BIG = 4096  # arrays with longer text than this are parsed by numpy directly
_NUMERIC = b"0123456789-+, \t\r\n"
_MARK = "__pipechaos_array_{}__"


class ObservationsError(ValueError):
    """observations.json cannot be used; the message says why, in one line."""


def _parse_array(text: bytes, where: str) -> I64:
    body = text.strip()
    if not body:
        return np.zeros(0, dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            arr = np.fromstring(body, dtype=np.int64, sep=",")
        except (ValueError, DeprecationWarning) as exc:
            raise ObservationsError(f"{where}: not an array of integers") from exc
    if len(arr) != body.count(b",") + 1:
        raise ObservationsError(f"{where}: not an array of integers")
    return arr


def _release(data: bytes | mmap.mmap, upto: int) -> None:
    """Drop the already parsed pages of a mapped file from our resident set (they are
    clean file pages: the kernel re-reads them if ever touched again)."""
    if isinstance(data, mmap.mmap) and hasattr(data, "madvise"):
        length = upto - upto % mmap.PAGESIZE
        if length > 0:
            data.madvise(mmap.MADV_DONTNEED, 0, length)


def _narrow(a: I64) -> Ints:
    """The narrowest of int8/16/32 holding every value: counts, quantities and cents of
    ten million orders take a fraction of the memory (sums still accumulate in int64)."""
    if len(a) == 0:
        return a
    lo, hi = int(a.min()), int(a.max())
    for kind in (np.int8, np.int16, np.int32):
        info = np.iinfo(kind)
        if info.min <= lo and hi <= info.max:
            return a.astype(kind)
    return a


def _loads(data: bytes | mmap.mmap, name: str) -> tuple[Any, list[Ints]]:
    """orjson on the document with every big integer array cut out and parsed by numpy."""
    arrays: list[Ints] = []
    parts: list[bytes] = []
    last = pos = 0
    while True:
        pos = data.find(b"[", pos)
        if pos < 0:
            break
        end = data.find(b"]", pos)
        if end < 0:
            break
        if end - pos > BIG:
            inner = data[pos + 1 : end]
            if not inner.translate(None, _NUMERIC):
                parts += [data[last:pos], f'"{_MARK.format(len(arrays))}"'.encode()]
                arrays.append(_narrow(_parse_array(inner, f"{name}: array at byte {pos}")))
                del inner
                _release(data, end)
                last = pos = end + 1
                continue
        pos += 1
    parts.append(data[last:])
    try:
        return orjson.loads(b"".join(parts)), arrays
    except orjson.JSONDecodeError as exc:
        raise ObservationsError(f"{name}: not valid JSON ({exc})") from None


def _column(value: Any, arrays: list[Ints], where: str) -> Ints:
    if isinstance(value, np.ndarray) and value.dtype.kind == "i" and value.ndim == 1:
        return value  # version 2: already an array, already narrow
    if isinstance(value, str) and value.startswith("__pipechaos_array_"):
        return arrays[int(value[len("__pipechaos_array_") : -2])]
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ObservationsError(f"{where}: must be an array of integers")
    return _narrow(np.asarray(value, dtype=np.int64).reshape(-1))


def _sorted_unique(ids: Ints, where: str) -> None:
    if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
        raise ObservationsError(f"{where}: order ids must be sorted and unique")


def _mapping(doc: dict[str, Any], key: str, name: str) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise ObservationsError(f"{name}: {key}: missing or not an object")
    return value


def read_observations(path: Path) -> Observations:
    """Parse and validate; ObservationsError (one line) on anything unusable."""
    name = path.name
    try:
        with path.open("rb") as f:
            if path.stat().st_size < BIG * 16:
                doc, arrays = _loads(f.read(), name)
            else:
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    doc, arrays = _loads(data, name)
    except OSError as exc:
        raise ObservationsError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ObservationsError(f"{name}: not a {FORMAT} file")
    if doc.get("version") not in VERSIONS:
        raise ObservationsError(f"{name}: version {doc.get('version')!r} is not supported")
    if doc["version"] == 2:
        try:
            doc = resolve_columns(path, doc)
        except ObservationsFormatError as exc:
            raise ObservationsError(str(exc)) from None
    if tuple(doc.get("outcomes", OUTCOMES)) != OUTCOMES:
        raise ObservationsError(f"{name}: outcomes must be {list(OUTCOMES)}")

    orders = _mapping(doc, "orders", name)
    cols = {c: _column(orders.get(c), arrays, f"{name}: orders.{c}") for c in ORDER_COLUMNS}
    n = len(cols["order_id"])
    short = [c for c in ORDER_COLUMNS if len(cols[c]) != n]
    if short:
        raise ObservationsError(f"{name}: orders.{short[0]}: length differs from order_id")
    _sorted_unique(cols["order_id"], f"{name}: orders.order_id")
    outcome = cols["outcome"]
    if n and (outcome.min() < 0 or outcome.max() >= len(OUTCOMES)):
        raise ObservationsError(f"{name}: orders.outcome: codes must be 0..{len(OUTCOMES) - 1}")

    effects: dict[str, tuple[I64, I64]] = {}
    for effect, body in _mapping(doc, "effects", name).items():
        where = f"{name}: effects.{effect}"
        if not isinstance(body, dict):
            raise ObservationsError(f"{where}: must be an object with order_id and count")
        ids = _column(body.get("order_id"), arrays, f"{where}.order_id")
        counts = _column(body.get("count"), arrays, f"{where}.count")
        if len(ids) != len(counts):
            raise ObservationsError(f"{where}: count length differs from order_id")
        _sorted_unique(ids, f"{where}.order_id")
        effects[effect] = (ids, counts)

    saga = doc.get("saga", [])
    if not isinstance(saga, list) or not all(
        isinstance(s, list) and len(s) == 2 and all(isinstance(x, str) for x in s) for s in saga
    ):
        raise ObservationsError(f"{name}: saga: must be a list of [step, compensation] pairs")
    for step, comp in saga:
        for effect in (step, comp):
            if effect not in effects:
                raise ObservationsError(f"{name}: saga names effect {effect!r}, not in effects")

    dl = _mapping(doc, "dead_letters", name)
    dl_ids = _column(dl.get("order_id", []), arrays, f"{name}: dead_letters.order_id")
    attempts = _column(dl.get("attempts", []), arrays, f"{name}: dead_letters.attempts")
    reasons = dl.get("reason", [])
    if not isinstance(reasons, list) or not all(isinstance(r, str | None) for r in reasons):
        raise ObservationsError(f"{name}: dead_letters.reason: must be a list of strings")
    if not len(dl_ids) == len(attempts) == len(reasons):
        raise ObservationsError(f"{name}: dead_letters: arrays differ in length")

    totals = doc.get("totals", {})
    if not isinstance(totals, dict):
        raise ObservationsError(f"{name}: totals: must be an object")
    settings = doc.get("settings", {})
    if not isinstance(settings, dict):
        raise ObservationsError(f"{name}: settings: must be an object")
    try:
        handled_by = read_handled_by(doc.get("handled_by"),
                                     lambda v, where: _column(v, arrays, f"{name}: {where}"))
    except HandledByError as exc:
        raise ObservationsError(f"{name}: {exc}") from None
    return Observations(
        order_id=cols["order_id"].astype(np.int64, copy=False),
        outcome=outcome.astype(np.int8, copy=False),
        t_terminal=cols["t_terminal"].astype(np.int64, copy=False),
        redeliveries=cols["redeliveries"],
        value=cols["value"],
        qty=cols["qty"],
        points=cols["points"],
        effects=effects,
        saga=[(s, c) for s, c in saga],
        dead_letters=DeadLetters(
            dl_ids.astype(np.int64, copy=False), attempts, [r or "" for r in reasons]
        ),
        totals={k: int(v) for k, v in totals.items() if isinstance(v, int | float)},
        settings=settings,
        handled_by=handled_by,
    )
