"""Timeout faults: make a client's own timeout fire on one hop.

`timeout.blackhole`: the hop accepts and never answers (a `timeout` toxic, timeout 0:
bytes are swallowed, the connection stays open). Default `direction: downstream`, so the
request still reaches the server and only the answer is lost: the dangerous case where an
effect was applied but the client cannot know. `direction: both` stops the request too.
`timeout.slow`: the answer comes, but later than the client waits (a latency toxic);
give `client_timeout` and validate checks that the latency really exceeds it.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from chaos.faults.network import LatencyParams, latency_plan
from chaos.faults.proxied import Plan, ProxiedFault, ProxiedParams, ms
from chaos.spec.models import TargetSpec
from chaos.spec.units import Duration


class BlackholeParams(ProxiedParams, frozen=True):
    close_after: Annotated[
        Duration, Meta(description="close held connections after this (0: never)")
    ] = 0.0


def _blackhole(p: BlackholeParams) -> Plan:
    toxics = [("timeout", s, {"timeout": ms(p.close_after)}) for s in p.streams()]
    if p.close_after == 0:
        return Plan(toxics, kind="blackhole")
    return Plan(toxics, kind="present")  # the close may come before a probe could tell


class SlowParams(LatencyParams, kw_only=True, frozen=True):
    client_timeout: Annotated[Duration | None, Meta(description="the client's own timeout")] = None


def _slow_check(p: SlowParams, target: TargetSpec) -> list[str]:
    if p.client_timeout is not None and p.latency - p.jitter <= p.client_timeout:
        return [f"latency: {p.latency:g}s (-{p.jitter:g}s jitter) does not exceed "
                f"client_timeout {p.client_timeout:g}s, so the client's timeout would not fire"]
    return ["jitter: must not exceed latency"] if p.jitter > p.latency else []


BLACKHOLE = ProxiedFault("timeout.blackhole", BlackholeParams,
                         "a hop accepts but never answers; the client's timeout must fire",
                         _blackhole)
SLOW = ProxiedFault("timeout.slow", SlowParams,
                    "a hop answers later than the client's timeout (latency toxic)",
                    latency_plan, _slow_check)
