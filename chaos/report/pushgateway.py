"""Push a run's samples (chaos/report/pushmetrics.py) to a Prometheus Pushgateway with the
official client. prometheus_client is imported only here, when a push happens, so that
`validate`, `--help` and a run's start-up stay light."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

JOB = "pipechaos"
TIMEOUT_S = 10.0


class PushgatewayUrlError(ValueError):
    pass


def check_url(url: str) -> str:
    """The URL as given, when it can name a Pushgateway: http(s)://host[:port][/path]."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a bad port
    except ValueError as exc:
        raise PushgatewayUrlError(f"{url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PushgatewayUrlError(f"{url!r}: expected http://HOST[:PORT] or https://HOST[:PORT]")
    if parts.query or parts.fragment:
        raise PushgatewayUrlError(f"{url!r}: no query or fragment expected")
    return url


def push(url: str, result: dict[str, Any], timeout: float = TIMEOUT_S) -> None:
    """Replace the group {job="pipechaos", experiment=...} with this run's samples (PUT:
    an invariant the experiment no longer has disappears). Raises on any failure; the
    caller decides that a failed push changes nothing about the run."""
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    from chaos.report.pushmetrics import HELP, samples

    registry = CollectorRegistry()
    gauges: dict[str, Gauge] = {}
    for s in samples(result):
        gauge = gauges.get(s.name)
        if gauge is None:
            gauge = Gauge(s.name, HELP[s.name], list(s.labels), registry=registry)
            gauges[s.name] = gauge
        gauge.labels(**s.labels).set(s.value)
    push_to_gateway(url, job=JOB, registry=registry, timeout=timeout,
                    grouping_key={"experiment": str(result["experiment"])})


def push_or_warn(url: str, result: dict[str, Any], warn: Any) -> bool:
    """Push; on failure write one warning line with `warn` and go on: metrics are a report
    of the run, never part of its verdict or exit code."""
    try:
        push(url, result)
    except Exception as exc:  # whatever failed, the run's result stands
        reason = " ".join(str(exc).split()) or type(exc).__name__
        warn(f"pipechaos: warning: could not push metrics to {url}: {reason}\n")
        return False
    return True
