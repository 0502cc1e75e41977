"""The consumer's admin API (port `admin`, never proxied): health, status, crash points."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from targets.reference.crash import CrashPoints


def _json(status: int, body: Any) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def admin_app(crash: CrashPoints, status: Callable[[], dict[str, Any]],
              healthy: Callable[[], bool]) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        ok = healthy()
        return _json(200 if ok else 503, {"ok": ok})

    async def get_status(_: web.Request) -> web.Response:
        return _json(200, status())

    async def post_crash(request: web.Request) -> web.Response:
        try:
            body = orjson.loads(await request.read())
            crash.arm(str(body["point"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            return _json(400, {"ok": False, "error": f"bad crash request: {exc}"})
        return _json(200, {"ok": True, "armed": crash.armed})

    async def delete_crash(_: web.Request) -> web.Response:
        crash.disarm()
        return _json(200, {"ok": True, "armed": crash.armed})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/status", get_status)
    app.router.add_post("/crash", post_crash)
    app.router.add_delete("/crash", delete_crash)
    return app
