"""Real Prometheus endpoints for the probe's tests: a `/metrics` endpoint served by
prometheus_client's own HTTP server, and Debian's `prometheus` scraping it, run as a
process on loopback with its data in a scratch directory and stopped by PID."""

from __future__ import annotations

import contextlib
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from tests.daemon import running
from tests.redisproc import free_port
from tests.system import needs, require_package


class Exporter:
    """`/metrics` on a free loopback port with two counters and a labelled gauge."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.processed = Counter("app_processed", "messages processed", registry=self.registry)
        self.lag = Gauge("app_lag_ms", "lag per partition", ["partition"],
                         registry=self.registry)
        self.port = free_port()
        self.server, self.thread = start_http_server(self.port, "127.0.0.1", self.registry)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def exporter() -> Iterator[Exporter]:
    exp = Exporter()
    try:
        yield exp
    finally:
        exp.close()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return json.loads(resp.read())


@contextlib.contextmanager
def running_prometheus(scratch: Path, scrape: str, timeout_s: float = 30.0) -> Iterator[str]:
    """Debian's prometheus scraping `scrape` (host:port) every 200 ms; yields its URL once
    it has scraped the target once. Skips, naming the package, when it is not installed."""
    require_package("prometheus", why="the prometheus probe's PromQL mode")
    port = free_port()
    scratch.mkdir(parents=True, exist_ok=True)
    config = scratch / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 200ms, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - {{job_name: app, scrape_interval: 200ms, scrape_timeout: 150ms, "
        f"static_configs: [{{targets: ['{scrape}']}}]}}\n"
    )
    url = f"http://127.0.0.1:{port}"
    query = urllib.parse.urlencode({"query": 'up{job="app"} == 1'})

    def scraped() -> bool:
        return bool(_get(f"{url}/api/v1/query?{query}")["data"]["result"])

    with running(
        [needs()["prometheus"].proof, f"--config.file={config}",
         f"--storage.tsdb.path={scratch / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        scratch / "prometheus.log", scraped, "prometheus did not scrape its target",
        timeout_s, poll_s=0.1,
    ):  # fmt: skip
        yield url
