"""Where things happened: joins by order id, phase and fault labels, offender samples.

Everything here is vectorised over sorted integer order ids so a check over ten million
publishes stays in numpy; Python loops run only over phases, fault windows and samples.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from chaos.checks.blame import blame
from chaos.checks.model import (
    COMPLETED,
    I64,
    Bool,
    FaultWindow,
    HandledBy,
    History,
    Ints,
    Observations,
    Offender,
    Phases,
)

SAMPLE = 20
CHUNK = 1 << 20  # rows per vectorised step in joins (bounds temporary memory)
OUTSIDE = "outside"
UNPUBLISHED = "unpublished"


class IdIndex:
    """Positions of sorted unique ids, for repeated joins against the same array.

    Order ids of a run are dense integers, so a direct-address table (4 bytes per id in
    the range) beats binary search about tenfold; sparse ids fall back to searchsorted.
    Queries go in chunks so temporaries stay a few MB whatever the run's size.
    """

    def __init__(self, sorted_ids: Ints, expected_queries: int = 0) -> None:
        n = self.n = len(sorted_ids)  # the ids themselves are not kept: see index_of
        self.table: Ints | None = None
        self.contiguous = False
        if n == 0:
            return
        self.lo, self.hi = int(sorted_ids[0]), int(sorted_ids[-1])
        self.contiguous = self.hi - self.lo == n - 1  # lo..hi each once: position = id - lo
        if self.contiguous:
            return
        if self.hi - self.lo < 4 * (n + expected_queries) + 1024 and n < 2**31 - 1:
            table = np.full(self.hi - self.lo + 1, -1, dtype=np.int32)
            for a in range(0, n, CHUNK):
                part = sorted_ids[a : a + CHUNK].astype(np.int64)  # any input width
                table[part - self.lo] = np.arange(a, a + len(part), dtype=np.int32)
            self.table = table

    def find(self, sorted_ids: Ints, ids: Ints) -> tuple[Ints, Bool]:
        """Index of each of `ids` in `sorted_ids` (the array this index was built from;
        0 when absent) and whether present."""
        n = self.n
        pos: Ints = np.zeros(len(ids), dtype=np.int32 if n < 2**31 - 1 else np.int64)
        found: Bool = np.zeros(len(ids), dtype=np.bool_)
        if n == 0:
            return pos, found
        for a in range(0, len(ids), CHUNK):
            part = ids[a : a + CHUNK]
            if self.contiguous:  # the history's ids: no table at all
                rel = np.subtract(part, self.lo, dtype=np.int64)
                got = rel.astype(pos.dtype)
                outside = rel.view(np.uint64) >= n
                if outside.any():
                    got[outside] = -1
            elif self.table is not None:  # one gather; ids outside the table's range marked
                rel = np.subtract(part, self.lo, dtype=np.int64)  # narrow ids must not wrap
                got = np.take(self.table, rel, mode="clip")
                outside = rel.view(np.uint64) >= len(self.table)  # negatives wrap to huge
                if outside.any():
                    got[outside] = -1
            else:
                part = part.astype(np.int64)
                got = np.minimum(np.searchsorted(sorted_ids, part), n - 1)
                got[sorted_ids[got] != part] = -1
            np.greater_equal(got, 0, out=found[a : a + CHUNK])
            pos[a : a + CHUNK] = np.maximum(got, 0)
        return pos, found


_CACHE: dict[int, tuple[weakref.ref[Any], IdIndex]] = {}
CACHE_MIN = 100_000  # smaller arrays are indexed afresh: cheap, nothing kept


def index_of(sorted_ids: Ints, expected_queries: int = 0) -> IdIndex:
    """The IdIndex of an array, built once per array while it lives (every check of a
    run joins against the same history and observation ids). The cache holds the array
    weakly and the index does not refer to it, so both go when the array goes."""
    if len(sorted_ids) < CACHE_MIN:
        return IdIndex(sorted_ids, expected_queries)
    key = id(sorted_ids)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is sorted_ids:
        return hit[1]
    index = IdIndex(sorted_ids, max(expected_queries, len(sorted_ids)))
    _CACHE[key] = (weakref.ref(sorted_ids), index)
    weakref.finalize(sorted_ids, _CACHE.pop, key, None)
    return index


def unique(values: Ints) -> Ints:
    """np.unique by sorting: numpy 2.3+ hashes instead, which is ~40x slower on ids."""
    return unique_counts(values)[0]


def unique_counts(values: Ints) -> tuple[Ints, I64]:
    """The distinct values, sorted, and how often each occurs."""
    ordered = np.sort(values)
    first = np.ones(len(ordered), dtype=np.bool_)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return ordered[starts], np.diff(np.append(starts, len(ordered))).astype(np.int64)


def lookup(sorted_ids: Ints, ids: Ints) -> tuple[Ints, Bool]:
    """Index of each of `ids` in `sorted_ids` (unique) and whether it is there at all."""
    return index_of(sorted_ids, len(ids)).find(sorted_ids, ids)


def phase_codes(phases: Phases, t: I64) -> tuple[list[str], np.ndarray]:
    """Label each time with its phase: (names, code per time); the last name is `outside`."""
    names = [*phases.bounds, OUTSIDE]
    spans = list(phases.bounds.values())
    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    if all(spans[a][1] <= spans[b][0] for a, b in itertools.pairwise(order)):
        # disjoint phases (the usual case): one binary search instead of a pass per phase
        starts = np.array([spans[i][0] for i in order], dtype=np.int64)
        ends = np.array([spans[i][1] for i in order] + [0], dtype=np.int64)
        label = np.array([*order, len(names) - 1], dtype=np.int16)
        k = np.searchsorted(starts, t, side="right") - 1  # the last phase starting by t
        k[(k < 0) | (t >= ends[k])] = len(order)  # before the first, or in a gap: outside
        return names, label[k]
    codes = np.full(len(t), len(names) - 1, dtype=np.int16)
    for i, (start, end) in enumerate(spans):
        inside = (t >= start) & (t < end) & (codes == len(names) - 1)
        codes[inside] = i
    return names, codes


def fault_codes(phases: Phases, t: I64) -> np.ndarray:
    """Index of the fault window containing each time, else the one that ended most
    recently before it, else the first one after it (an order published just before a
    pod kill is lost by that kill), else -1 (no fault at all)."""
    windows = phases.faults
    by_start = sorted(range(len(windows)), key=lambda k: windows[k].start)
    after = np.full(len(t), -1, dtype=np.int32)
    for i in reversed(by_start):
        after[t < windows[i].start] = i
    before = np.full(len(t), -1, dtype=np.int32)
    for i in sorted(range(len(windows)), key=lambda k: windows[k].end):
        before[t > windows[i].end] = i
    inside = np.full(len(t), -1, dtype=np.int32)
    for i in by_start:
        inside[(t >= windows[i].start) & (t <= windows[i].end)] = i
    return np.where(inside >= 0, inside, np.where(before >= 0, before, after))


def nearest_fault(phases: Phases, faults: Sequence[FaultWindow], t: int) -> FaultWindow | None:
    """The fault among `faults` that time `t` points at (fault_codes' rule)."""
    code = fault_codes(Phases(phases.bounds, list(faults)), np.array([t], dtype=np.int64))[0]
    return faults[int(code)] if code >= 0 else None


def publish_times(history: History, observations: Observations, ids: I64) -> tuple[I64, Bool]:
    """Publish (invoke) time of each order; terminal time for orders never published."""
    h_idx, published = lookup(history.order_id, ids)
    o_idx, observed = lookup(observations.order_id, ids)
    t = np.full(len(ids), -1, dtype=np.int64)
    if len(history.order_id):
        t[published] = history.t_invoke[h_idx[published]]
    late = ~published & observed
    if len(observations.order_id):
        t[late] = observations.t_terminal[o_idx[late]]
    return t, published


def offenders(
    phases: Phases,
    groups: list[tuple[I64, I64, Bool]],
    handled_by: HandledBy | None = None,
) -> tuple[int, tuple[Offender, ...]]:
    """Total and a deterministic sample of offenders.

    `groups`: one (ids, times, published) triple per kind of anomaly (lost, phantom,
    ...); the sample takes the lowest ids of each kind in turn, so every kind shows.
    Orders never published get phase `unpublished` (their fault is still located by
    the time given, typically the terminal time). Each sampled offender's fault is
    blamed by the pods that handled it when `handled_by` says (chaos.checks.blame),
    else by time.
    """
    total = sum(len(ids) for ids, _, _ in groups)
    picks: list[list[tuple[int, int, bool]]] = []
    for ids, times, published in groups:
        order = np.argsort(ids, kind="stable")[:SAMPLE]
        picks.append(
            [(int(ids[i]), int(times[i]), bool(published[i])) for i in order]
        )
    chosen: list[tuple[int, int, bool]] = []
    seen: set[int] = set()
    depth = 0
    while len(chosen) < SAMPLE and any(depth < len(p) for p in picks):
        for p in picks:
            if depth < len(p) and p[depth][0] not in seen and len(chosen) < SAMPLE:
                seen.add(p[depth][0])
                chosen.append(p[depth])
        depth += 1
    if not chosen:
        return total, ()
    t = np.array([c[1] for c in chosen], dtype=np.int64)
    names, codes = phase_codes(phases, t)

    def pick(faults: Sequence[FaultWindow], tk: int) -> FaultWindow | None:
        return nearest_fault(phases, faults, tk)

    sample = []
    for k, (oid, tk, pub) in enumerate(chosen):
        fault, rule = blame(phases.faults, handled_by, oid, tk, pick)
        sample.append(Offender(id=oid, phase=names[int(codes[k])] if pub else UNPUBLISHED,
                               fault=fault, blame=rule))
    return total, tuple(sample)


def count_by(phases: Phases, t: I64) -> tuple[dict[str, int], dict[str, int]]:
    """How many of the given times fall in each phase and in each fault window."""
    names, codes = phase_codes(phases, t)
    by_phase = {names[i]: int(n) for i, n in enumerate(np.bincount(codes, minlength=len(names)))
                if n}
    faults = fault_codes(phases, t)
    counts = np.bincount(faults + 1, minlength=len(phases.faults) + 1)
    by_fault: dict[str, int] = {}
    for i, n in enumerate(counts):
        if n:
            key = "none" if i == 0 else phases.faults[i - 1].id
            by_fault[key] = by_fault.get(key, 0) + int(n)
    return by_phase, by_fault


def terminal_rows(history: History, observations: Observations) -> Bool:
    """For each history row: did the pipeline bring that order to a terminal outcome?"""
    idx, found = lookup(observations.order_id, history.order_id)
    if len(observations.order_id) == 0:
        return found
    return found & (observations.outcome[idx] >= COMPLETED)


def effect_counts(observations: Observations, effect: str, ids: Ints) -> Ints:
    """How many times `effect` was applied for each of `ids` (sorted, unique; 0 = never)."""
    eff_ids, counts = observations.effects.get(
        effect, (np.zeros(0, np.int64), np.zeros(0, np.int64))
    )
    if eff_ids is ids or (len(eff_ids) == len(ids) and np.array_equal(eff_ids, ids)):
        return counts
    out: Ints = np.zeros(len(ids), dtype=counts.dtype)
    pos, found = lookup(ids, eff_ids)  # ids is the big, reused side: its index is cached
    if found.all():  # the usual case: every effect belongs to a known order
        out[pos] = counts
    else:
        out[pos[found]] = counts[found]
    return out
