"""Read timeseries.jsonl (the sampler's file, format version 1) into `Timeseries`.

A probe that failed at a sample is `null` in the file and NaN here; a torn last line
(a run killed mid-write) is skipped rather than failing the whole analysis.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from chaos.checks.model import Timeseries

FORMAT = "pipechaos.timeseries"
VERSION = 1


class TimeseriesError(ValueError):
    """timeseries.jsonl cannot be used; one line saying why."""


def read_timeseries(path: Path) -> Timeseries:
    name = path.name
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise TimeseriesError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if not lines:
        raise TimeseriesError(f"{name}: empty, no header line")
    try:
        header = orjson.loads(lines[0])
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TimeseriesError(f"{name}: first line is not a {FORMAT} header")
    if header.get("version") != VERSION:
        raise TimeseriesError(f"{name}: version {header.get('version')!r} is not supported")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            if number == len(lines):
                continue  # torn last line
            raise TimeseriesError(f"{name}:{number}: not valid JSON") from None
        if not isinstance(row, dict) or not isinstance(row.get("t"), int):
            raise TimeseriesError(f"{name}:{number}: a row needs an integer t")
        rows.append(row)
    rows.sort(key=lambda r: int(r["t"]))
    t = np.array([r["t"] for r in rows], dtype=np.int64)
    keys = sorted({k for r in rows for k in r if k not in ("t", "v")})
    columns = {}
    for key in keys:
        values = [r.get(key) for r in rows]
        columns[key] = np.array(
            [float(v) if isinstance(v, int | float) and not isinstance(v, bool) else np.nan
             for v in values],
            dtype=np.float64,
        )
    return Timeseries(t=t, columns=columns)
