"""Debian's real `prometheus-pushgateway` on a free loopback port, and its metrics read back
through the official client's text parser."""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.daemon import running
from tests.redisproc import free_port
from tests.system import needs, require_package

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


@contextlib.contextmanager
def running_gateway(scratch: Path, timeout_s: float = 15.0) -> Iterator[str]:
    """Start the gateway (persistence in `scratch`), wait until /-/ready answers, yield its
    URL; stopped by its PID (TERM, then KILL) on exit. Skips, naming the package, without it."""
    require_package("prometheus-pushgateway", why="the Pushgateway metrics are read back")
    port = free_port()
    scratch.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as resp:
            return bool(resp.status == 200)

    with running(
        [needs()["prometheus-pushgateway"].proof, f"--web.listen-address=127.0.0.1:{port}",
         f"--persistence.file={scratch / 'pushgateway.db'}"],
        scratch / "pushgateway.log", ready, "prometheus-pushgateway did not start", timeout_s,
    ):  # fmt: skip
        yield url


def read_back(url: str, prefix: str = "pipechaos_") -> Series:
    """The gateway's /metrics: {(name, labels): value} for the series named `prefix*`
    (the gateway's own `instance=""` left out)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: Series = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith(prefix):  # the gateway adds an empty instance label
                labels = {k: v for k, v in s.labels.items() if (k, v) != ("instance", "")}
                out[(s.name, frozenset(labels.items()))] = s.value
    return out


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return (name, frozenset(labels.items()))
