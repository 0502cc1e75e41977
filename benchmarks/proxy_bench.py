"""Proxy benchmark: our proxy (no toxics) against direct connections, in the same run.

Measures single-stream bulk throughput, 64-byte round-trip p50/p99, connections per second
and the accuracy of a 100 ms latency toxic; prints each as a ratio to direct. The upstream
runs in its own process (`--serve`), so the client and the server do not share a GIL.

    .venv/bin/python benchmarks/proxy_bench.py [--seconds 2] [--rounds 3] [--smoke]
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chaos.proxy.client import ToxiproxyClient  # noqa: E402

BUF = 1 << 20


class _Handler(socketserver.BaseRequestHandler):
    """First byte picks the mode: S = sink (reply with the byte count at EOF), E = echo."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mode = sock.recv(1)
        if mode == b"S":
            buf, total = bytearray(BUF), 0
            while n := sock.recv_into(buf):
                total += n
            sock.sendall(total.to_bytes(8, "big"))
        elif mode == b"E":
            sock.sendall(b"E")
            while data := sock.recv(65536):
                sock.sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def serve(port: int) -> None:
    with _Server(("127.0.0.1", port), _Handler) as srv:
        srv.serve_forever()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dial(addr: tuple[str, int], mode: bytes) -> socket.socket:
    s = socket.create_connection(addr)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(mode)
    if mode == b"E":
        assert s.recv(1) == b"E"
    return s


def throughput(addr: tuple[str, int], seconds: float) -> float:
    """Bytes per second of one stream, counted by the sink (half-close carries the end)."""
    chunk = b"\0" * BUF
    s = dial(addr, b"S")
    sent, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(16):
            s.sendall(chunk)
        sent += 16 * BUF
    s.shutdown(socket.SHUT_WR)
    got = int.from_bytes(s.recv(8), "big")
    took = time.perf_counter() - start
    s.close()
    assert got == sent, (got, sent)
    return sent / took


def round_trips(addr: tuple[str, int], n: int) -> list[float]:
    s = dial(addr, b"E")
    payload, out = b"x" * 64, []
    for _ in range(n):
        t = time.perf_counter()
        s.sendall(payload)
        got = 0
        while got < 64:
            got += len(s.recv(64))
        out.append(time.perf_counter() - t)
    s.close()
    return out


def connections(addr: tuple[str, int], seconds: float) -> float:
    """Full proxied connections per second: connect, one echoed byte, close."""
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        s = dial(addr, b"E")
        s.close()
        n += 1
    return n / (time.perf_counter() - start)


def best(rounds: range, direct: Callable[[], Any], proxied: Callable[[], Any],
         key: Callable[[Any], float] = float) -> tuple[Any, Any]:
    """Alternate direct and proxied runs (shared load hits both), keep each one's best."""
    ds, ps = [], []
    for _ in rounds:
        ds.append(direct())
        ps.append(proxied())
    return max(ds, key=key), max(ps, key=key)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (make test)")
    args = ap.parse_args()
    trips, toxic_trips = (200, 5) if args.smoke else (3000, 100)
    if args.smoke:
        args.seconds, args.rounds = 0.1, 1
    if args.serve:
        serve(args.serve)
        return 0
    up_port, api_port = free_port(), free_port()
    procs = [
        subprocess.Popen([sys.executable, __file__, "--serve", str(up_port)]),
        subprocess.Popen([sys.executable, "-m", "chaos.proxy", "--port", str(api_port)],
                         cwd=ROOT, stderr=subprocess.DEVNULL),
    ]
    api = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{api}/version", timeout=1)
                socket.create_connection(("127.0.0.1", up_port)).close()
                break
            except (httpx.HTTPError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        client = ToxiproxyClient(api)
        listen = client.create_proxy("bench", "127.0.0.1:0", f"127.0.0.1:{up_port}")["listen"]
        direct = ("127.0.0.1", up_port)
        proxied = ("127.0.0.1", int(listen.rsplit(":", 1)[1]))
        secs = args.seconds

        print(f"{'measure':34} {'direct':>12} {'proxy':>12} {'ratio':>8}   "
              f"(best of {args.rounds} interleaved rounds)")
        rounds = range(args.rounds)
        d, p = best(rounds, lambda: throughput(direct, secs), lambda: throughput(proxied, secs))
        print(f"{'throughput MB/s (1 stream)':34} {d / 1e6:12.0f} {p / 1e6:12.0f} {p / d:7.2f}x"
              f"  (goal >= 0.25x)")
        d_rt, p_rt = best(rounds, lambda: round_trips(direct, trips),
                          lambda: round_trips(proxied, trips), key=lambda r: -statistics.median(r))
        for name, q in (("p50", 0.5), ("p99", 0.99)):
            dv, pv = pct(d_rt, q) * 1e6, pct(p_rt, q) * 1e6
            goal = "  (goal <= +50 us)" if name == "p50" else ""
            print(f"{'64-byte round trip ' + name + ' us':34} {dv:12.0f} {pv:12.0f} "
                  f"{pv / dv:7.2f}x  (+{pv - dv:.0f} us){goal}")
        dc, pc = best(rounds, lambda: connections(direct, secs),
                      lambda: connections(proxied, secs))
        print(f"{'connections/s':34} {dc:12.0f} {pc:12.0f} {pc / dc:7.2f}x  (goal >= 0.5x)")

        client.add_toxic("bench", "latency", attributes={"latency": 100})
        base = statistics.median(d_rt)
        lat = [t - base - 0.100 for t in round_trips(proxied, toxic_trips)]
        print(f"{'latency 100ms: added p50/p99 ms':34} {'':12} "
              f"{pct(lat, 0.5) * 1e3:+6.2f}/{pct(lat, 0.99) * 1e3:+5.2f}  (goal p99 <= +3 ms)")
        client.close()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
