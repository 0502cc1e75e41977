"""Bulk-load numpy values into an HDR histogram (hdrhistogram's `HdrHistogram`).

`record_value` is a Python call per value: ten million of them take over a minute. We
compute the histogram's own counts index with numpy (the same formula hdrh uses), add
them up with `np.bincount`, and record one (value, count) pair per non-empty bucket, so
every percentile still comes from HDR, with its precision and reporting semantics.
"""

from __future__ import annotations

import numpy as np
from hdrh.histogram import HdrHistogram

from chaos.checks.model import I64, Ints

LOWEST = 1  # microseconds
HIGHEST = 3_600_000_000  # one hour in microseconds
DIGITS = 3
CHUNK = 1 << 20


def counts_index(h: HdrHistogram, values: I64) -> I64:
    """hdrh's `_counts_index_for`, vectorised (values already within range).

    The bit length comes from `np.frexp`, exact here: values are below 2**53 (at most
    HIGHEST), so their float64 conversion loses nothing."""
    masked = values | h.sub_bucket_mask
    pow2ceiling = np.frexp(masked.astype(np.float64))[1].astype(np.int64)  # bit length
    bucket = pow2ceiling - h.unit_magnitude - (h.sub_bucket_half_count_magnitude + 1)
    sub_bucket = values >> (bucket + h.unit_magnitude)
    base = (bucket + 1) << h.sub_bucket_half_count_magnitude
    index: I64 = base + (sub_bucket - h.sub_bucket_half_count)
    return index


def histogram(values_us: I64) -> tuple[HdrHistogram, int]:
    """An HDR histogram of the values (microseconds) and how many were clamped to range."""
    (h, clamped), = histograms(values_us, np.zeros(len(values_us), dtype=np.int8), 1)
    return h, clamped


def histograms(values_us: I64, groups: Ints, n_groups: int) -> list[tuple[HdrHistogram, int]]:
    """One HDR histogram per group (`groups[i]` in 0..n_groups-1 is value i's group), and
    how many of each group's values were clamped: one pass over the values, one bincount
    over (group, bucket) pairs, however many groups (the latency check's phases)."""
    template = HdrHistogram(LOWEST, HIGHEST, DIGITS)
    width = template.counts_len
    counts = np.zeros(n_groups * width, dtype=np.int64)
    clamped = np.zeros(n_groups, dtype=np.int64)
    for a in range(0, len(values_us), CHUNK):  # chunks keep temporaries small
        values = np.asarray(values_us[a : a + CHUNK], dtype=np.int64)
        group = np.asarray(groups[a : a + CHUNK], dtype=np.int64)
        out = (values > HIGHEST) | (values < 0)
        if out.any():
            clamped += np.bincount(group[out], minlength=n_groups)
        key = counts_index(template, np.clip(values, 0, HIGHEST)) + group * width
        counts += np.bincount(key, minlength=n_groups * width)
    result = []
    for g in range(n_groups):
        h = HdrHistogram(LOWEST, HIGHEST, DIGITS)
        row = counts[g * width : (g + 1) * width]
        for i in np.flatnonzero(row):
            h.record_value(h.get_value_from_index(int(i)), int(row[i]))
        result.append((h, int(clamped[g])))
    return result
