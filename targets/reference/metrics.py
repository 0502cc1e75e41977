"""A pipeline service's own OpenTelemetry metrics, exported through a Prometheus endpoint
(`GET /metrics` on the service's admin port), named as in the seed document's section 4.4.

For a service named `consumer`: `consumer_lag_ms` (observable gauge),
`consumer_pending_records` (observable up-down counter), `consumer_duplicate_rate`
(observable gauge, label `window_sec`), and the counters `consumer_duplicates_total`,
`consumer_processed_total`, `consumer_compensated_total`, `consumer_dead_lettered_total`;
docs/reference-pipeline.md has the table of what each means. The producer's own
instruments (accepted, sent, resent, replayed, backlog, WAL fsync time) are in
targets/reference/producer/metrics.py, built on `service_meter` and `route` here.

Why lag is "the oldest held, or the oldest taken since the last scrape": a gauge set only
when a message is polled freezes when polling stops (a partitioned consumer shows its last
healthy value: the dashboard lies), and a spike between two scrapes would be overwritten.
Counters are per process, so they restart at 0 with the pod (Prometheus `increase()`
handles that; so does the `metrics_truth` check). Unit strings are left empty so the
exporter adds no unit suffix: the unit is in the name, as in the seed.

The SDK objects (`opentelemetry`, `prometheus_client`) are imported when the first
PipelineMetrics is built, so the modules that import this one stay light.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from aiohttp import web

WINDOW_S = 60


class PipelineMetrics:
    def __init__(self, service: str = "consumer", swallow_duplicates: bool = False,
                 attributes: dict[str, str] | None = None) -> None:
        from opentelemetry.metrics import CallbackOptions, Observation

        self.swallow_duplicates = swallow_duplicates  # bug metrics-swallow-duplicates
        self.attributes = dict(attributes or {})
        self.held: dict[str, int] = {}  # message id -> its ts (ns), while this pod holds it
        self.peak_ms = 0.0  # the oldest message taken since the last scrape
        self._buckets: deque[list[int]] = deque()  # [second, deliveries, duplicates]
        meter = service_meter(service)

        def lag(_: CallbackOptions) -> Iterable[Observation]:
            yield Observation(self.lag_ms(), self.attributes)

        def pending(_: CallbackOptions) -> Iterable[Observation]:
            yield Observation(len(self.held), self.attributes)

        def rate(_: CallbackOptions) -> Iterable[Observation]:
            yield Observation(self.duplicate_rate(), {**self.attributes,
                                                      "window_sec": str(WINDOW_S)})

        meter.create_observable_gauge(f"{service}.lag.ms", [lag],
                                      description="age of the oldest message held or taken")
        meter.create_observable_up_down_counter(f"{service}.pending.records", [pending],
                                                description="messages taken, not finished")
        meter.create_observable_gauge(f"{service}.duplicate.rate", [rate],
                                      description="duplicates / deliveries, sliding window")
        self._counters = {
            what: meter.create_counter(f"{service}.{what}", description=text)
            for what, text in (
                ("duplicates", "deliveries beyond a message's first"),
                ("processed", "terminal outcomes recorded"),
                ("compensated", "sagas compensated"),
                ("dead_lettered", "messages dead-lettered"),
            )
        }
        for counter in self._counters.values():
            counter.add(0, self.attributes)  # exported from the start, not from the first event

    # ------------------------------------------------------------ the service's hooks

    def taken(self, message_id: str, ts_ns: int | None) -> None:
        """A delivery: the pod holds the message from now until `released`."""
        now = time.time_ns()
        ts = ts_ns if ts_ns is not None and 0 < ts_ns <= now else now
        self.held[message_id] = ts
        self.peak_ms = max(self.peak_ms, (now - ts) / 1e6)
        self._bucket(now)[1] += 1

    def released(self, message_id: str) -> None:
        self.held.pop(message_id, None)

    def duplicate(self) -> None:
        """A delivery beyond the message's first (a redelivery or an idempotency hit)."""
        if self.swallow_duplicates:
            return
        self._counters["duplicates"].add(1, self.attributes)
        self._bucket(time.time_ns())[2] += 1

    def finished(self, outcome: str) -> None:
        """A terminal outcome recorded: completed, compensated or dead_lettered."""
        self._counters["processed"].add(1, self.attributes)
        if outcome in ("compensated", "dead_lettered"):
            self._counters[outcome].add(1, self.attributes)

    # ------------------------------------------------------------ what a scrape reads

    def lag_ms(self) -> float:
        now = time.time_ns()
        oldest = (now - min(self.held.values())) / 1e6 if self.held else 0.0
        peak, self.peak_ms = self.peak_ms, 0.0
        return round(max(oldest, peak), 1)

    def duplicate_rate(self) -> float:
        self._expire(time.time_ns())
        deliveries = sum(b[1] for b in self._buckets)
        return sum(b[2] for b in self._buckets) / deliveries if deliveries else 0.0

    def _expire(self, now_ns: int) -> None:
        while self._buckets and self._buckets[0][0] <= now_ns // 1_000_000_000 - WINDOW_S:
            self._buckets.popleft()

    def _bucket(self, now_ns: int) -> list[int]:
        second = now_ns // 1_000_000_000
        if not self._buckets or self._buckets[-1][0] != second:
            self._buckets.append([second, 0, 0])
            self._expire(now_ns)
        return self._buckets[-1]

    def route(self, app: web.Application) -> None:
        route(app)


def service_meter(service: str) -> Any:
    """An OpenTelemetry meter whose instruments `GET /metrics` (`route`) exports. The
    reader serves through prometheus_client's process-wide registry (one service per
    process: a pod)."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create({"service.name": f"pipechaos-reference-{service}"})
    provider = MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()])
    return provider.get_meter(f"pipechaos-reference-{service}")


def route(app: web.Application) -> None:
    """`GET /metrics` on the service's admin app (the Prometheus text format)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=bytes(generate_latest(REGISTRY)),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)


def labels(pod: Any) -> dict[str, str]:
    """The attributes every instrument carries: the pod's component and replica slot."""
    return {"component": str(pod.component), "index": str(pod.index)}
