"""A real HTTP server (aiohttp, in a thread) on a free loopback port for the `http` plugins.

`POST /orders` answers by `X-Order-Id` through `plan` (id -> behaviour: a status code,
"slow" or "close"); every request it received is in `seen` (order id -> times seen).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aiohttp import web

from chaos.platforms.ports import free_port
from chaos.tls.certs import make_ca, make_server_cert

Plan = Callable[[int], int | str]


class HttpServer:
    def __init__(self, plan: Plan = lambda _id: 200, tls: ssl.SSLContext | None = None) -> None:
        self.plan = plan
        self.tls = tls
        self.seen: Counter[int] = Counter()
        self.bodies: dict[int, tuple[bytes, dict[str, str]]] = {}
        self.json_body: Any = {}  # what GET /state answers with (http-json observer)
        self.port = free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test HTTP server did not start")

    async def _orders(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        order_id = int(request.headers["X-Order-Id"])
        self.seen[order_id] += 1
        self.bodies[order_id] = (body, dict(request.headers))
        action = self.plan(order_id)
        if action == "slow":
            await asyncio.sleep(5)
            return web.Response(status=200)
        if action == "close":  # read the request, then drop the connection unanswered
            assert request.transport is not None
            request.transport.abort()
            await asyncio.sleep(0.5)
            return web.Response(status=200)
        assert isinstance(action, int)
        return web.Response(status=action)

    async def _state(self, _request: web.Request) -> web.StreamResponse:
        if isinstance(self.json_body, bytes):
            return web.Response(body=self.json_body, content_type="application/json")
        return web.json_response(self.json_body)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/orders", self._orders)
        app.router.add_get("/state", self._state)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=0.1)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port,
                           ssl_context=self.tls)
        self._loop.run_until_complete(site.start())
        self._ready.set()
        self._loop.run_forever()

    async def _stop(self) -> None:
        await self._runner.cleanup()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@contextlib.contextmanager
def tls_server(directory: Path) -> Iterator[tuple[str, Path]]:
    """An https server with a certificate from a fresh CA: (its orders URL, the CA's PEM file)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = make_ca("http publisher test CA")
    cert, key = make_server_cert(ca_cert, ca_key, ["127.0.0.1", "localhost"])
    (directory / "ca.pem").write_bytes(ca_cert)
    (directory / "cert.pem").write_bytes(cert)
    (directory / "key.pem").write_bytes(key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    srv = HttpServer(tls=context)
    try:
        yield f"{srv.url}/orders", directory / "ca.pem"
    finally:
        srv.close()
