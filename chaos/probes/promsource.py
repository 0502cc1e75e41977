"""The prometheus probe's I/O: scrape `/metrics` endpoints (parsed by prometheus_client's
text parser) and ask a Prometheus HTTP API (`/api/v1/query`).

One scrape of an endpoint serves every metric read from it within FRESH_S, so a sampler
tick that reads five metrics from three consumers costs three requests, and an endpoint
that does not answer (a paused pod) stalls a tick once, for its timeout, not per metric.
In scrape mode, endpoints that do not answer are left out as long as one does (as
Prometheus's own `sum()` leaves out a target that is down); none answering is a failed
sample.
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from chaos.probes.base import ProbeError

if TYPE_CHECKING:
    from chaos.probes.prometheus import Metric

FRESH_S = 0.2
_client = httpx.Client()
_cache: dict[str, tuple[float, list[tuple[str, dict[str, str], float]] | str]] = {}
_lock = threading.Lock()


def _fetch(url: str, timeout: float) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of one endpoint as (name, labels, value); ProbeError when it fails."""
    try:
        resp = _client.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ProbeError(f"{url}: {type(exc).__name__}: {exc}".rstrip(": ")) from None
    if resp.status_code != 200:
        raise ProbeError(f"{url}: HTTP {resp.status_code}")
    try:
        return [(s.name, dict(s.labels), float(s.value))
                for family in text_string_to_metric_families(resp.text)
                for s in family.samples]
    except (ValueError, TypeError, IndexError) as exc:
        raise ProbeError(f"{url}: not the Prometheus text format: {exc}") from None


def scrape(url: str, timeout: float) -> list[tuple[str, dict[str, str], float]]:
    """`_fetch` through the short-lived cache (failures are cached too)."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(url)
    if hit is None or now - hit[0] > FRESH_S:
        try:
            value: list[tuple[str, dict[str, str], float]] | str = _fetch(url, timeout)
        except ProbeError as exc:
            value = str(exc)
        hit = (time.monotonic(), value)
        with _lock:
            _cache[url] = hit
    if isinstance(hit[1], str):
        raise ProbeError(hit[1])
    return hit[1]


def aggregate(how: str, values: list[float]) -> float:
    if how == "count":
        return float(len(values))
    if not values:
        raise ProbeError("no series matched")
    if how == "max":
        return max(values)
    if how == "min":
        return min(values)
    total = math.fsum(values)
    return total / len(values) if how == "avg" else total


def scraped(spec: Metric) -> float:
    values: list[float] = []
    errors: list[str] = []
    for url in spec.endpoints:
        try:
            samples = scrape(url, spec.timeout)
        except ProbeError as exc:
            errors.append(str(exc))
            continue
        values += [value for name, labels, value in samples
                   if name == spec.metric
                   and all(labels.get(k) == v for k, v in spec.labels.items())]
    if len(errors) == len(spec.endpoints):
        raise ProbeError(errors[0])
    if not values and spec.aggregate != "count":
        raise ProbeError(f"no sample {spec.metric} with labels {spec.labels or '{}'}")
    return aggregate(spec.aggregate, values)


def query(spec: Metric) -> float:
    assert spec.url is not None and spec.query is not None
    url = spec.url.rstrip("/") + "/api/v1/query"
    try:
        resp = _client.get(url, params={"query": spec.query}, timeout=spec.timeout)
        body: Any = resp.json()
    except httpx.HTTPError as exc:
        raise ProbeError(f"{url}: {type(exc).__name__}: {exc}".rstrip(": ")) from None
    except ValueError:
        raise ProbeError(f"{url}: HTTP {resp.status_code}, not a Prometheus API") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error", "") if isinstance(body, dict) else ""
        raise ProbeError(f"PromQL {spec.query!r}: {error or f'HTTP {resp.status_code}'}")
    data: Any = body.get("data") or {}
    kind, result = data.get("resultType"), data.get("result") or []
    if kind == "scalar":
        return float(result[1])
    if kind == "vector":
        return aggregate(spec.aggregate, [float(r["value"][1]) for r in result])
    raise ProbeError(f"PromQL {spec.query!r}: gives a {kind}, want a vector or scalar")


def measure(spec: Metric) -> float:
    return query(spec) if spec.query is not None else scraped(spec)


def check(spec: Metric) -> None:
    """Prepare: every scrape endpoint answers; a query is accepted (no data yet is fine)."""
    if spec.query is not None:
        try:
            query(spec)
        except ProbeError as exc:
            if str(exc) != "no series matched":
                raise
        return
    for url in spec.endpoints:
        _fetch(url, max(spec.timeout, 2.0))
