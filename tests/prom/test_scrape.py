"""The prometheus probe's scrape mode against real `/metrics` endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.probes import family, promsource
from chaos.probes.base import ProbeError
from chaos.probes.prometheus import PROMETHEUS
from tests.prom.endpoints import exporter
from tests.redisproc import free_port


def measure(settings: dict[str, Any], name: str = "m") -> float:
    promsource._cache.clear()  # each call reads the endpoints afresh
    return float(PROMETHEUS.member(name, settings).measure(None))  # type: ignore[arg-type]


def test_counter_and_gauge_with_labels_and_aggregates() -> None:
    with exporter() as a, exporter() as b:
        a.processed.inc(3)
        b.processed.inc(4)
        a.lag.labels("0").set(120)
        a.lag.labels("1").set(80)
        b.lag.labels("0").set(300)
        both = [a.url, b.url]
        total = {"m": {"scrape": both, "metric": "app_processed_total"}}
        assert measure({"prometheus": total}) == 7
        worst = {"m": {"scrape": both, "metric": "app_lag_ms", "aggregate": "max"}}
        assert measure({"prometheus": worst}) == 300
        part0 = {"m": {"scrape": both, "metric": "app_lag_ms", "labels": {"partition": "0"},
                       "aggregate": "min"}}
        assert measure({"prometheus": part0}) == 120
        count = {"m": {"scrape": a.url, "metric": "app_lag_ms", "aggregate": "count"}}
        assert measure({"prometheus": count}) == 2
        avg = {"m": {"scrape": a.url, "metric": "app_lag_ms", "aggregate": "avg"}}
        assert measure({"prometheus": avg}) == 100


def test_an_endpoint_that_is_down_is_left_out_but_all_down_fails() -> None:
    dead = f"http://127.0.0.1:{free_port()}/metrics"
    with exporter() as a:
        a.processed.inc(2)
        spec = {"m": {"scrape": [a.url, dead], "metric": "app_processed_total"}}
        assert measure({"prometheus": spec}) == 2
    with pytest.raises(ProbeError, match=r"127\.0\.0\.1.*ConnectError"):
        measure({"prometheus": {"m": {"scrape": dead, "metric": "app_processed_total"}}})


def test_no_matching_sample_is_a_failed_sample() -> None:
    with exporter() as a:
        spec = {"m": {"scrape": a.url, "metric": "app_lag_ms", "labels": {"partition": "9"}}}
        with pytest.raises(ProbeError, match=r"no sample app_lag_ms with labels"):
            measure({"prometheus": spec})


def test_one_scrape_serves_every_metric_of_a_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []
    real = promsource._fetch

    def counted(url: str, timeout: float) -> Any:
        fetched.append(url)
        return real(url, timeout)

    monkeypatch.setattr(promsource, "_fetch", counted)
    with exporter() as a:
        a.processed.inc()
        promsource._cache.clear()
        settings = {"prometheus": {"x": {"scrape": a.url, "metric": "app_processed_total"},
                                   "y": {"scrape": a.url, "metric": "app_processed_created"}}}
        probes = family.expand({"prometheus": PROMETHEUS}, settings)
        assert sorted(probes) == ["prometheus:x", "prometheus:y"]
        assert probes["prometheus:x"].measure(None) == 1  # type: ignore[arg-type]
        assert probes["prometheus:y"].measure(None) > 0  # type: ignore[arg-type]
        assert fetched == [a.url]


def test_prepare_check_names_the_endpoint() -> None:
    dead = f"http://127.0.0.1:{free_port()}/metrics"
    probes = family.expand(
        {"prometheus": PROMETHEUS},
        {"prometheus": {"lag": {"scrape": dead, "metric": "app_lag_ms"}}})
    with pytest.raises(ProbeError, match=r"^probe prometheus:lag: http://127.0.0.1:\d+/metrics: "
                                         r"ConnectError"):
        family.prepare(probes)


def test_comparator() -> None:
    spec = PROMETHEUS.member("m", {"prometheus": {"m": {
        "scrape": "http://x/metrics", "metric": "a", "comparator": {"criteria": "<", "value": 5}}}})
    assert spec.comparator is not None
    assert spec.comparator.holds(4) and not spec.comparator.holds(5)
    assert spec.comparator.text() == "< 5"
