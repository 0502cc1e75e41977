"""The prometheus probe's PromQL mode against Debian's real `prometheus`, scraping a real
`/metrics` endpoint (run as a process on loopback, data in tmp, stopped by PID)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from chaos.probes import family
from chaos.probes.base import ProbeError
from chaos.probes.prometheus import PROMETHEUS
from tests.prom.endpoints import exporter, running_prometheus
from tests.redisproc import free_port


def member(url: str, query: str, **more: Any) -> Any:
    return PROMETHEUS.member("q", {"prometheus": {"q": {"url": url, "query": query, **more}}})


def eventually(fn: Any, want: float, timeout_s: float = 10.0) -> float:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = float(fn())
        except ProbeError:
            value = float("nan")
        if value == want or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_promql_vector_scalar_bad_query_and_down(tmp_path: Path) -> None:
    with exporter() as app:
        app.processed.inc(5)
        app.lag.labels("0").set(40)
        app.lag.labels("1").set(90)
        scrape = f"127.0.0.1:{app.port}"
        with running_prometheus(tmp_path / "prom", scrape) as url:
            total = member(url, 'sum(app_processed_total{job="app"})')
            total.check()
            assert eventually(lambda: total.measure(None), 5) == 5
            app.processed.inc(2)  # the next scrape (200 ms) shows it
            assert eventually(lambda: total.measure(None), 7) == 7
            worst = member(url, "app_lag_ms", aggregate="max")
            assert eventually(lambda: worst.measure(None), 90) == 90
            assert member(url, "scalar(vector(3))").measure(None) == 3
            # a query no series matches yet is accepted in prepare, a failed sample later
            empty = member(url, "app_not_there_total")
            empty.check()
            with pytest.raises(ProbeError, match="no series matched"):
                empty.measure(None)
            bad = member(url, "sum(rate(app_processed_total[5s])")
            with pytest.raises(ProbeError, match=r"^PromQL .*: .*parse error"):
                bad.check()
            probes = family.expand({"prometheus": PROMETHEUS},
                                   {"prometheus": {"bad": {"url": url, "query": "sum("}}})
            with pytest.raises(ProbeError, match=r"^probe prometheus:bad: PromQL 'sum\(': "):
                family.prepare(probes)
    dead = member(f"http://127.0.0.1:{free_port()}", "up")
    with pytest.raises(ProbeError, match="ConnectError"):
        dead.check()
