"""The producer's own OpenTelemetry metrics on its admin port (`GET /metrics`).

Every instrument is observable: the SDK calls back at scrape time and reads the counts
the producer keeps anyway (`Producer.counts()`), so the ack path (POST -> WAL -> 200)
does no metrics work at all. Names, as the consumer's (targets/reference/metrics.py):
`producer_lag_ms` (age of the oldest record the broker has not confirmed),
`producer_pending_records` (those records: the backlog), the counters
`producer_{accepted,refused,sent,deduplicated,resent,replayed,send_errors,unreplicated,
dropped}_total`, and the WAL's `producer_wal_syncs_total` and
`producer_wal_sync_seconds_total` (write + fsync time; their ratio is the mean group
commit). Counters are per process, like the consumer's: they restart at 0 with the pod.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from targets.reference.metrics import service_meter

COUNTERS = {
    "accepted": "orders made durable in the WAL and confirmed to their caller",
    "refused": "orders refused (bad headers, WAL write failed)",
    "sent": "records the broker took as new stream entries",
    "deduplicated": "records the broker already had (a resend)",
    "resent": "records sent again after a failed attempt",
    "replayed": "unconfirmed records read back from the WAL at start",
    "send_errors": "failed batch attempts",
    "unreplicated": "batches the replicas did not confirm in time (WAIT)",
    "dropped": "records given up (bug no-replay only)",
}
FRESH_S = 0.05  # one scrape reads the counts once, not once per instrument


class ProducerMetrics:
    def __init__(self, counts: Callable[[], dict[str, Any]],
                 oldest_ns: Callable[[], int | None], attributes: dict[str, str]) -> None:
        from opentelemetry.metrics import CallbackOptions, Observation

        self._counts, self._oldest_ns, self.attributes = counts, oldest_ns, attributes
        self._cached: tuple[float, dict[str, Any]] = (0.0, {})
        meter = service_meter("producer")

        def reading(get: Callable[[dict[str, Any]], float]
                    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
            def callback(_: CallbackOptions) -> Iterable[Observation]:
                yield Observation(get(self.counts()), self.attributes)
            return callback

        def count(what: str) -> Callable[[dict[str, Any]], float]:
            return lambda c: float(c.get(what, 0))

        for what, text in COUNTERS.items():
            meter.create_observable_counter(f"producer.{what}", [reading(count(what))],
                                            description=text)
        meter.create_observable_counter(
            "producer.wal.syncs", [reading(lambda c: float(c["wal"]["syncs"]))],
            description="WAL group commits (write + fsync)")
        meter.create_observable_counter(
            "producer.wal.sync.seconds", [reading(lambda c: c["wal"]["sync_us"] / 1e6)],
            description="time spent in WAL write + fsync")
        meter.create_observable_up_down_counter(
            "producer.pending.records", [reading(lambda c: float(c["backlog"]))],
            description="records durable here, not yet confirmed by the broker")
        meter.create_observable_gauge(
            "producer.lag.ms", [reading(lambda _: self.lag_ms())],
            description="age of the oldest record the broker has not confirmed")

    def counts(self) -> dict[str, Any]:
        at, counts = self._cached
        now = time.monotonic()
        if now - at > FRESH_S:
            counts = self._counts()
            self._cached = (now, counts)
        return counts

    def lag_ms(self) -> float:
        oldest = self._oldest_ns()
        return 0.0 if oldest is None else round(max(0, time.time_ns() - oldest) / 1e6, 1)
