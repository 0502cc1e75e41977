"""`pipechaos proxy` / `python -m chaos.proxy`: run the server standalone.

Flags as toxiproxy-server's (`-host`, `-port`, `-config`, `-seed`, also `--host` etc.);
`-runtime-metrics` and `-proxy-metrics` are accepted and ignored (/metrics is always on).
Exits 0 on SIGTERM or SIGINT; bad input is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
import time
from typing import Any

from aiohttp import web

from chaos.proxy import codec
from chaos.proxy.api import VERSION, make_app
from chaos.proxy.state import ApiError, PopulateError, Registry


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _Usage(message)


class _Usage(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pipechaos proxy", allow_abbrev=False,
                description="Toxiproxy-compatible fault proxy (HTTP API + TCP proxies).")
    p.add_argument("-host", "--host", default="127.0.0.1",
                   help="API address (default 127.0.0.1: loopback only)")
    p.add_argument("-port", "--port", type=int, default=8474, help="API port (default 8474)")
    p.add_argument("-config", "--config", default=None,
                   help="JSON file: a list of proxies to create at start")
    p.add_argument("-seed", "--seed", type=int, default=None,
                   help="random seed for toxicity and jitter (default: time)")
    p.add_argument("-runtime-metrics", "--runtime-metrics", action="store_true",
                   help="accepted for compatibility")
    p.add_argument("-proxy-metrics", "--proxy-metrics", action="store_true",
                   help="accepted for compatibility (/metrics is always served)")
    p.add_argument("-version", "--version", action="store_true", help="print the version")
    return p


def _load_config(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, "rb") as fh:
            items = codec.decode(fh.read())
    except OSError as exc:
        raise _Usage(f"cannot read config {path}: {exc.strerror}") from None
    except ApiError as exc:
        raise _Usage(f"config {path}: {exc.message}") from None
    if not isinstance(items, list):
        raise _Usage(f"config {path}: must be a JSON list of proxies")
    out = []
    for i, item in enumerate(items, 1):
        try:
            fields = codec.proxy_fields(item)
        except ApiError as exc:
            raise _Usage(f"config {path}: proxy {i}: {exc.message}") from None
        for key in ("name", "upstream"):
            if not fields.get(key):
                raise _Usage(f"config {path}: missing required field: {key} at proxy {i}")
        out.append(fields)
    return out


async def serve(host: str, port: int, seed: int, config: list[dict[str, Any]]) -> int:
    registry = Registry(random.Random(seed))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(make_app(registry), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port, backlog=512).start()
        except OSError as exc:
            print(f"pipechaos proxy: cannot listen on {host}:{port}: {exc.strerror}",
                  file=sys.stderr)
            return 1
        if config:
            try:
                await registry.populate(config)
            except PopulateError as exc:
                print(f"pipechaos proxy: config: {exc.error.message}", file=sys.stderr)
                return 1
        print(f"pipechaos proxy {VERSION}: API on http://{host}:{port}", file=sys.stderr,
              flush=True)
        await stop.wait()
        return 0
    finally:
        registry.close_all()
        with contextlib.suppress(Exception):
            await runner.cleanup()


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.version:
            print(VERSION)
            return 0
        if not 0 <= args.port <= 65535:
            raise _Usage(f"port must be 0..65535, got {args.port}")
        config = _load_config(args.config) if args.config else []
    except _Usage as exc:
        print(f"pipechaos proxy: {exc}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else time.time_ns()
    try:
        import uvloop

        return uvloop.run(serve(args.host, args.port, seed, config))
    except ImportError:  # pragma: no cover - uvloop is optional off Linux
        return asyncio.run(serve(args.host, args.port, seed, config))
