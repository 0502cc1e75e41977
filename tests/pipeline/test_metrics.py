"""The consumer's OpenTelemetry metrics on its admin port (`GET /metrics`), read through
the prometheus probe, against what the observer proves after a crash and a reclaim (the
bug variant `metrics-swallow-duplicates` is caught end to end: tests/e2e/test_metrics_truth.py)."""

from __future__ import annotations

import signal
from typing import Any

from chaos.probes import promsource
from chaos.probes.prometheus import PROMETHEUS
from tests.pipeline.harness import Deployment, Pod, by_order, payload


def read(pod: Pod, metric: str, **labels: str) -> float:
    promsource._cache.clear()
    spec = {"scrape": f"{pod.url()}/metrics", "metric": metric, "labels": labels}
    return float(PROMETHEUS.member("m", {"prometheus": {"m": spec}}).measure(None))  # type: ignore[arg-type]


def crash_and_reclaim(deployment: Deployment, bug: str | None) -> tuple[Pod, dict[str, Any]]:
    """A consumer dies after the effects of its first message, holding the rest of what it
    read; its replacement reclaims all of it (each one a delivery beyond the first)."""
    victim = deployment.start_consumer(0, bug=bug)
    assert read(victim, "consumer_duplicates_total") == 0  # exported before the first event
    deployment.crash(victim, "after-effects-before-ack")
    orders: dict[int, Any] = {i: payload(i) for i in range(1, 31)}
    orders[31] = payload(31, card="4000000000000002")  # declined: compensated
    orders[32] = "{not json"  # poison: redelivered up to max_attempts, then dead-lettered
    deployment.publish("run-m", orders)
    assert victim.proc.wait(timeout=30) == -signal.SIGKILL
    survivor = deployment.start_consumer(0, bug=bug)
    deployment.wait_drained(60)
    return survivor, by_order(deployment.observe("run-m"))


def test_the_consumer_counts_what_the_observer_proves(deployment: Deployment) -> None:
    pod, rows = crash_and_reclaim(deployment, None)
    # the first scrape shows the oldest message taken since the pod started: the reclaimed
    # entries were at least reclaim_idle (1 s) old; the next scrape shows the idle present
    assert read(pod, "consumer_lag_ms") >= 1000
    assert read(pod, "consumer_lag_ms") == 0
    redelivered = sum(r["redeliveries"] for r in rows.values())
    assert redelivered >= 3  # the reclaimed entries and the poison's retries
    assert read(pod, "consumer_duplicates_total", component="consumer", index="0") == redelivered
    assert read(pod, "consumer_processed_total") == 32  # the victim recorded nothing
    assert read(pod, "consumer_compensated_total") == 1
    assert read(pod, "consumer_dead_lettered_total") == 1
    assert read(pod, "consumer_pending_records") == 0
    assert 0 < read(pod, "consumer_duplicate_rate", window_sec="60") <= 1
