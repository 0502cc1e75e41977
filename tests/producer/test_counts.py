"""The observer's `producers` section and drain rule, from the raw hashes (no redis)."""

from __future__ import annotations

import orjson

from chaos.observers.producer_counts import backlog_drained, producer_counts


def test_counts_are_summed_over_incarnations_levels_are_not() -> None:
    raw = {
        "producer-0-aaaa": orjson.dumps({"accepted": 10, "replayed": 0, "backlog": 3,
                                         "wal": {"syncs": 4, "segments": 1}}).decode(),
        "producer-0-bbbb": orjson.dumps({"accepted": 5, "replayed": 3, "backlog": 0,
                                         "wal": {"syncs": 2, "segments": 1}}).decode(),
        "producer-0-cccc": "not json",
    }
    section = producer_counts(raw)
    assert sorted(section["pods"]) == ["producer-0-aaaa", "producer-0-bbbb"]
    assert section["totals"] == {"accepted": 15, "replayed": 3, "wal.syncs": 6}
    assert section["pods"]["producer-0-aaaa"]["wal.segments"] == 1
    assert producer_counts({}) == {"scope": "deployment", "pods": {}, "totals": {}}


def test_drained_only_when_every_producer_slot_is_empty() -> None:
    assert backlog_drained({})
    assert backlog_drained({"0": "0", "1": "0"})
    assert not backlog_drained({"0": "0", "1": "7"})
