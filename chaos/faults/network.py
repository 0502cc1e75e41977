"""Network faults through Toxiproxy (ours or the real one): partition, latency, bandwidth,
reset, slice, limit, slow_close. Each names `proxy: NAME` or `proxies: {names|prefix}`;
`direction` is both, upstream (client -> server) or downstream (server -> client).
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from chaos.faults.proxied import Direction, Plan, ProxiedFault, ProxiedParams, ms
from chaos.spec.models import TargetSpec
from chaos.spec.units import Duration


class PartitionParams(ProxiedParams, frozen=True):
    direction: Direction = "both"
    mode: Literal["blackhole", "refuse", "reset"] = "blackhole"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode == "refuse" and self.direction != "both":
            raise ValueError("direction: mode refuse takes the whole proxy down; "
                             "use direction: both (or mode blackhole/reset)")


def _partition(p: PartitionParams) -> Plan:
    if p.mode == "refuse":
        return Plan(disable=True, kind="refuse")
    if p.mode == "reset":
        return Plan([("reset_peer", s, {"timeout": 0}) for s in p.streams()], kind="reset",
                    answer_needed=p.direction == "downstream")
    return Plan([("timeout", s, {"timeout": 0}) for s in p.streams()], kind="blackhole")


class LatencyParams(ProxiedParams, kw_only=True, frozen=True):
    latency: Annotated[Duration, Meta(description="added to every chunk in each chosen direction")]
    jitter: Duration = 0.0


def latency_plan(p: LatencyParams) -> Plan:
    attrs = {"latency": ms(p.latency), "jitter": ms(p.jitter)}
    each = max(0.0, p.latency - p.jitter)
    return Plan([("latency", s, attrs) for s in p.streams()], kind="delay",
                min_delay_s=each * len(p.streams()))


def _jitter_check(p: LatencyParams, target: TargetSpec) -> list[str]:
    return ["jitter: must not exceed latency"] if p.jitter > p.latency else []


class BandwidthParams(ProxiedParams, kw_only=True, frozen=True):
    rate: Annotated[int, Meta(ge=0, description="KB/s (1 KB = 1000 bytes); 0 stalls all data")]


def _bandwidth(p: BandwidthParams) -> Plan:
    return Plan([("bandwidth", s, {"rate": p.rate}) for s in p.streams()])


class ResetParams(ProxiedParams, frozen=True):
    direction: Direction = "both"
    after: Annotated[Duration, Meta(description="RST this long after data arrives")] = 0.0


def _reset(p: ResetParams) -> Plan:
    return Plan([("reset_peer", s, {"timeout": ms(p.after)}) for s in p.streams()],
                kind="reset", reset_after_s=p.after, answer_needed=p.direction == "downstream")


class SliceParams(ProxiedParams, kw_only=True, frozen=True):
    average_size: Annotated[int, Meta(gt=0, description="bytes per slice on average")]
    size_variation: Annotated[int, Meta(ge=0, description="+/- bytes")] = 0
    delay: Annotated[Duration, Meta(description="between slices")] = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.size_variation > self.average_size:
            raise ValueError("size_variation: must not exceed average_size")


def _slice(p: SliceParams) -> Plan:
    attrs = {"average_size": p.average_size, "size_variation": p.size_variation,
             "delay": round(p.delay * 1e6)}
    return Plan([("slicer", s, attrs) for s in p.streams()])


class LimitParams(ProxiedParams, kw_only=True, frozen=True):
    bytes: Annotated[int, Meta(ge=0, description="bytes passed per connection, then closed")]


def _limit(p: LimitParams) -> Plan:
    return Plan([("limit_data", s, {"bytes": p.bytes}) for s in p.streams()])


class SlowCloseParams(ProxiedParams, kw_only=True, frozen=True):
    delay: Annotated[Duration, Meta(description="how long the close is held")]


def _slow_close(p: SlowCloseParams) -> Plan:
    return Plan([("slow_close", s, {"delay": ms(p.delay)}) for s in p.streams()])


PARTITION = ProxiedFault(
    "network.partition", PartitionParams,
    "cut a hop: blackhole (bytes vanish, connections hang), refuse (proxy down) or reset (RST)",
    _partition)
LATENCY = ProxiedFault("network.latency", LatencyParams, "add latency (+/- jitter) on a hop",
                       latency_plan, _jitter_check)
BANDWIDTH = ProxiedFault("network.bandwidth", BandwidthParams, "limit a hop's bandwidth",
                         _bandwidth)
RESET = ProxiedFault("network.reset", ResetParams, "reset connections (RST) when data flows",
                     _reset)
SLICE = ProxiedFault("network.slice", SliceParams, "deliver data in small delayed slices",
                     _slice)
LIMIT = ProxiedFault("network.limit", LimitParams, "close connections after N bytes", _limit)
SLOW_CLOSE = ProxiedFault("network.slow_close", SlowCloseParams, "delay connection close",
                          _slow_close)
