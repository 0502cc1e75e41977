"""Toxic registry: type name -> runner class. A new toxic is one module plus one line here."""

from __future__ import annotations

from chaos.proxy.toxics.bandwidth import Bandwidth
from chaos.proxy.toxics.base import Runner
from chaos.proxy.toxics.latency import Latency
from chaos.proxy.toxics.limit_data import LimitData
from chaos.proxy.toxics.reset_peer import ResetPeer
from chaos.proxy.toxics.slicer import Slicer
from chaos.proxy.toxics.slow_close import SlowClose
from chaos.proxy.toxics.timeout import Timeout
from chaos.proxy.toxics.tls import Tls

TOXICS: dict[str, type[Runner]] = {
    "latency": Latency,
    "bandwidth": Bandwidth,
    "slow_close": SlowClose,
    "timeout": Timeout,
    "reset_peer": ResetPeer,
    "slicer": Slicer,
    "limit_data": LimitData,
    "tls": Tls,
}
