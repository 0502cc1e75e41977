"""`/metrics`: Prometheus text with bytes and connections per proxy and direction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chaos.proxy.state import ProxyState

_HELP = {
    "toxiproxy_proxy_received_bytes_total": ("counter", "Bytes read from the source side"),
    "toxiproxy_proxy_sent_bytes_total": ("counter", "Bytes written to the destination side"),
    "pipechaos_proxy_connections_total": ("counter", "Client connections accepted"),
    "pipechaos_proxy_connections_open": ("gauge", "Open connections in this direction"),
}


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(proxies: Iterable[ProxyState]) -> str:
    lines: dict[str, list[str]] = {name: [] for name in _HELP}
    for p in sorted(proxies, key=lambda p: p.name):
        base = f'listener="{_esc(p.listen)}",proxy="{_esc(p.name)}",upstream="{_esc(p.upstream)}"'
        lines["pipechaos_proxy_connections_total"].append(
            f"pipechaos_proxy_connections_total{{{base}}} {p.connections_total}")
        for direction, c in sorted(p.counters.items()):
            labels = f'{{direction="{direction}",{base}}}'
            lines["toxiproxy_proxy_received_bytes_total"].append(
                f"toxiproxy_proxy_received_bytes_total{labels} {c.received}")
            lines["toxiproxy_proxy_sent_bytes_total"].append(
                f"toxiproxy_proxy_sent_bytes_total{labels} {c.sent}")
            lines["pipechaos_proxy_connections_open"].append(
                f"pipechaos_proxy_connections_open{labels} {c.open}")
    out: list[str] = []
    for name, (kind, text) in _HELP.items():
        out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", *lines[name]]
    return "\n".join(out) + "\n"
