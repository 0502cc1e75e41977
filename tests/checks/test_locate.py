"""Joins and labels: the dense-table and binary-search paths agree with np.isin, in chunks."""

from __future__ import annotations

import numpy as np
import pytest

from chaos.checks import hdr, locate
from chaos.checks.locate import fault_codes, lookup, phase_codes
from tests.checks.builders import at, default_phases


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
@pytest.mark.parametrize("spread", [3, 10**12])  # dense ids, then sparse ones
def test_lookup_matches_isin(monkeypatch: pytest.MonkeyPatch, chunk: int, spread: int) -> None:
    monkeypatch.setattr(locate, "CHUNK", chunk)
    rng = np.random.default_rng(chunk + spread)
    for _ in range(30):
        table = np.unique(rng.integers(-50, 50 * spread, int(rng.integers(0, 80))))
        ids = np.concatenate([rng.integers(-80, 80 * spread, 40), table[::2]])
        idx, found = lookup(table, ids)
        assert np.array_equal(found, np.isin(ids, table))
        assert np.array_equal(table[idx[found]], ids[found])


def test_lookup_mixed_widths() -> None:
    idx, found = lookup(np.array([2, 4, 6], dtype=np.int32), np.array([4, 5, 6], dtype=np.int64))
    assert found.tolist() == [True, False, True] and idx[found].tolist() == [1, 2]


def test_phase_and_fault_labels() -> None:
    ph = default_phases()
    t = np.array([at(x) for x in (-1, 1, 12.2, 13, 16, 19, 35, 50)], dtype=np.int64)
    names, codes = phase_codes(ph, t)
    assert [names[c] for c in codes] == [
        "outside", "baseline", "fault", "fault", "fault", "fault", "drain", "outside"
    ]
    labels = [ph.faults[i].id if i >= 0 else None for i in fault_codes(ph, t)]
    assert labels == ["f0.0", "f0.0", "f0.0", "f0.0", "f1.0", "f1.0", "f1.0", "f1.0"]


def test_histogram_chunks_add_up(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.random.default_rng(3).integers(0, 10**7, 1000)
    whole, _ = hdr.histogram(values)
    monkeypatch.setattr(hdr, "CHUNK", 33)
    chunked, clamped = hdr.histogram(values)
    assert clamped == 0 and chunked.get_total_count() == 1000
    for p in (50, 99, 100):
        assert whole.get_value_at_percentile(p) == chunked.get_value_at_percentile(p)
    edges, clamped = hdr.histogram(np.array([-5, 7, hdr.HIGHEST + 1]))
    assert clamped == 2 and edges.get_total_count() == 3


def test_index_cached_per_live_array(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locate, "CACHE_MIN", 1)
    a = np.arange(0, 100, 2)
    first = locate.index_of(a)
    assert locate.index_of(a) is first
    b = a.copy()  # same content, another array: its own index
    assert locate.index_of(b) is not first
    key = id(b)
    del b
    assert key not in locate._CACHE  # dropped with its array
    pos, found = lookup(a, np.array([4, 5]))
    assert found.tolist() == [True, False] and int(pos[0]) == 2


def test_lookup_narrow_against_wide_ids() -> None:
    wide = np.array([5, 300, 70_000, 2**40], dtype=np.int64)
    narrow = np.array([-3, 5, 100], dtype=np.int8)
    idx, found = lookup(wide, narrow)
    assert found.tolist() == [False, True, False] and int(idx[1]) == 0
    idx, found = lookup(narrow, wide)
    assert found.tolist() == [True, False, False, False] and int(idx[0]) == 1


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_lookup_contiguous_ids_needs_no_table(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(locate, "CHUNK", chunk)
    table = np.arange(-3, 40, dtype=np.int64)  # a history's ids: lo..hi each once
    assert locate.IdIndex(table).contiguous and locate.IdIndex(table).table is None
    ids = np.array([-10, -4, -3, 0, 39, 40, 2**40, -(2**40), 7], dtype=np.int64)
    idx, found = lookup(table, ids)
    assert np.array_equal(found, np.isin(ids, table))
    assert np.array_equal(table[idx[found]], ids[found]) and idx[~found].tolist() == [0] * 5
    idx, found = lookup(np.arange(100, 110, dtype=np.int16), np.array([99, 100, 110], np.int8))
    assert found.tolist() == [False, True, False] and int(idx[1]) == 0


def test_unique_agrees_with_numpy() -> None:
    rng = np.random.default_rng(5)
    for size in (0, 1, 2, 50, 5000):
        values = rng.integers(-20, 20, size).astype(np.int32)
        expected, counts = np.unique(values, return_counts=True)
        got, got_counts = locate.unique_counts(values)
        assert np.array_equal(got, expected) and np.array_equal(got_counts, counts)
        assert np.array_equal(locate.unique(values), expected)


def test_phase_codes_search_agrees_with_the_scan() -> None:
    """Disjoint phases take the binary search; any overlap falls back to the first-match
    scan. Both give what the scan gives."""
    from chaos.checks.model import Phases

    rng = np.random.default_rng(11)
    for _ in range(200):
        names = [f"p{i}" for i in range(int(rng.integers(0, 5)))]
        edges = np.sort(rng.integers(0, 60, 2 * len(names)))
        if rng.random() < 0.3:
            edges = rng.integers(0, 60, 2 * len(names))  # overlaps, reversed spans
        bounds = {n: (int(edges[2 * i]), int(edges[2 * i + 1])) for i, n in enumerate(names)}
        order = list(bounds)
        rng.shuffle(order)
        phases = Phases({n: bounds[n] for n in order}, [])
        t = rng.integers(-5, 70, 50).astype(np.int64)
        got_names, got = phase_codes(phases, t)
        expected = [next((n for n, (a, b) in phases.bounds.items() if a <= x < b), "outside")
                    for x in t.tolist()]  # fmt: skip
        assert [got_names[c] for c in got] == expected
