"""The small HTTP(S) service shell shared by inventory, payment and points.

Public port (`http` or `https`, reached through a proxy): POST /<operation> with an
`Idempotency-Key` header and a JSON body `{run_id, order_id, ...payload}`. Admin port
(`admin`, never proxied): GET /healthz, GET /effects?run_id=R (one JSON with parallel
arrays, so the observer fetches 100k orders in one request), GET /totals.
A TLS service reloads its certificate on SIGHUP and closes open connections so that
clients handshake again against the new certificate (what TLS faults rely on).
"""

from __future__ import annotations

import asyncio
import signal
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from targets.reference.loop import run as run_loop
from targets.reference.pod import PodConfig
from targets.reference.services import fence
from targets.reference.services.store import Handler, Store

Totals = Callable[[Store], dict[str, int]]


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def public_app(store: Store, operations: dict[str, Handler]) -> web.Application:
    async def call(request: web.Request) -> web.Response:
        op = request.match_info["op"]
        handler = operations.get(op)
        if handler is None:
            return _json(404, {"result": "error", "reason": f"no operation {op}"})
        key = request.headers.get("Idempotency-Key")
        if not key:
            return _json(400, {"result": "error", "reason": "Idempotency-Key header missing"})
        try:
            body = orjson.loads(await request.read())
            if not isinstance(body, dict) or not isinstance(body.get("run_id"), str):
                raise ValueError("run_id missing")
            body["order_id"] = int(body["order_id"])
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
            return _json(400, {"result": "error", "reason": f"bad request body: {exc}"})
        token = fence.parse(request.headers.get("Fencing-Token"))
        status, response = store.handle(key, body, handler, token)
        return _json(status, response)

    app = web.Application()
    app.router.add_post("/{op}", call)
    return app


def admin_app(store: Store, totals: Totals) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return _json(200, {"ok": True})

    async def effects(request: web.Request) -> web.Response:
        run_id = request.query.get("run_id")
        return _json(200, {"effects": store.effects(run_id), "totals": totals(store),
                           "fenced": store.kv().get(fence.REFUSED, 0)})

    async def get_totals(_: web.Request) -> web.Response:
        return _json(200, totals(store))

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/effects", effects)
    app.router.add_get("/totals", get_totals)
    return app


def _tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


async def serve(
    pod: PodConfig,
    operations: dict[str, Handler],
    store: Store,
    totals: Totals,
    public_port: str,
) -> None:
    """Serve until SIGTERM/SIGINT; with TLS, reload the certificate on SIGHUP."""
    tls = None
    if pod.tls_cert is not None and pod.tls_key is not None:
        tls = _tls_context(pod.tls_cert, pod.tls_key)
    public = web.AppRunner(public_app(store, operations), access_log=None, keepalive_timeout=75)
    admin = web.AppRunner(admin_app(store, totals), access_log=None)
    await public.setup()
    await admin.setup()
    await web.TCPSite(public, pod.host, pod.port(public_port), ssl_context=tls).start()
    await web.TCPSite(admin, pod.host, pod.port("admin")).start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def reload() -> None:
        if tls is None or pod.tls_cert is None or pod.tls_key is None:
            return
        try:
            tls.load_cert_chain(str(pod.tls_cert), str(pod.tls_key))
        except (OSError, ssl.SSLError) as exc:
            print(f"certificate reload failed, keeping the old one: {exc}", file=sys.stderr)
            return
        server = public.server
        for conn in server.connections if server is not None else []:
            conn.close()  # finish the request in flight, then make the client re-handshake
        print("certificate reloaded", file=sys.stderr, flush=True)

    loop.add_signal_handler(signal.SIGHUP, reload)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(f"{pod.name} serving on {pod.ports}", file=sys.stderr, flush=True)
    await stop.wait()
    await public.cleanup()
    await admin.cleanup()


def run(pod: PodConfig, operations: dict[str, Handler], store: Store, totals: Totals,
        public_port: str) -> None:
    run_loop(serve(pod, operations, store, totals, public_port))
