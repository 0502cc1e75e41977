"""The Toxiproxy 2.x HTTP API on aiohttp: routes, status codes, bodies and messages.

Responses copy the real server (see docs/proxy.md) except where it misbehaves: no leaked
`"Logger":{}` key, range checks answered with 400, and no request can take the server down.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from chaos.proxy import codec
from chaos.proxy.link import DIRECTIONS
from chaos.proxy.metrics import render_metrics
from chaos.proxy.state import ApiError, PopulateError, ProxyState, Registry
from chaos.proxy.toxics import TOXICS
from chaos.proxy.toxics.base import AttributeError400, ToxicConfig

VERSION = "2.8.0"  # the Toxiproxy API version we speak
REGISTRY: web.AppKey[Registry] = web.AppKey("registry", Registry)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def ok(obj: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=codec.dumps(obj), content_type="application/json")


def error(status: int, message: str) -> web.Response:
    body = codec.dumps({"error": message, "status": status}) + b"\n"
    return web.Response(status=status, body=body,
                        headers={"Content-Type": "text/plain; charset=utf-8"})


def no_content() -> web.Response:
    return web.Response(status=204)


@web.middleware
async def shell(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, the browser guard, and mapping of every failure to an answer."""
    rid = secrets.token_hex(10)
    try:
        if request.headers.get("User-Agent", "").startswith("Mozilla/"):
            resp: web.StreamResponse = web.Response(
                status=403, text="User agent not allowed\n", content_type="text/plain")
        else:
            resp = await handler(request)
    except ApiError as exc:
        resp = error(exc.status, exc.message)
    except web.HTTPNotFound:
        resp = web.Response(status=404, text="404 page not found\n", content_type="text/plain")
    except web.HTTPMethodNotAllowed:
        resp = web.Response(status=405)
    except web.HTTPException as exc:
        resp = error(exc.status, exc.reason.lower())
    except Exception as exc:  # never let a request take the server down
        resp = error(500, f"internal error: {type(exc).__name__}: {exc}")
    resp.headers["X-Toxiproxy-Request-Id"] = rid
    return resp


async def body(request: web.Request) -> Any:
    return codec.decode(await request.read())


def reg(request: web.Request) -> Registry:
    return request.app[REGISTRY]


def proxy_of(request: web.Request) -> ProxyState:
    return reg(request).get(request.match_info["name"])


def toxic_of(proxy: ProxyState, request: web.Request) -> ToxicConfig:
    toxic = proxy.toxic(request.match_info["toxic"])
    if toxic is None:
        raise ApiError(404, "toxic not found")
    return toxic


# ------------------------------------------------------------------ server routes


async def version(request: web.Request) -> web.Response:
    return web.Response(body=f'{{"version": "{VERSION}"}}\n'.encode(),
                        headers={"Content-Type": "application/json;charset=utf-8"})


async def list_proxies(request: web.Request) -> web.Response:
    proxies = reg(request).proxies
    return ok({name: codec.proxy_json(proxies[name]) for name in sorted(proxies)})


def _required(fields: dict[str, Any], where: str = "") -> None:
    for key in ("name", "upstream"):
        if not fields.get(key):
            raise ApiError(400, f"missing required field: {key}{where}")
    if "/" in fields["name"]:
        raise ApiError(400, f"proxy name must not contain '/'{where}")


async def create_proxy(request: web.Request) -> web.Response:
    fields = codec.proxy_fields(await body(request))
    _required(fields)
    registry = reg(request)
    async with registry.lock:
        proxy = await registry.create(fields["name"], fields.get("listen") or "127.0.0.1:0",
                                      fields["upstream"], fields.get("enabled", True))
    return ok(codec.proxy_json(proxy), 201)


async def populate(request: web.Request) -> web.Response:
    try:
        items = await body(request)
        if not isinstance(items, list):
            raise codec.bad(f"json: cannot unmarshal {codec._kind(items)} into Go value of type "
                            "[]toxiproxy.Proxy")
        parsed = [codec.proxy_fields(item) for item in items]
        for i, fields in enumerate(parsed, 1):
            _required(fields, f" at proxy {i}")
        registry = reg(request)
        async with registry.lock:
            created = await registry.populate(parsed)
    except ApiError as exc:
        return _populate_error(exc, None)
    except PopulateError as exc:
        return _populate_error(exc.error, [codec.proxy_json(p) for p in exc.created] or None)
    return ok({"proxies": [codec.proxy_json(p) for p in created] or None}, 201)


def _populate_error(exc: ApiError, created: list[dict[str, Any]] | None) -> web.Response:
    return ok({"error": exc.message, "status": exc.status, "proxies": created}, exc.status)


async def reset(request: web.Request) -> web.Response:
    registry = reg(request)
    async with registry.lock:
        await registry.reset()
    return no_content()


async def metrics(request: web.Request) -> web.Response:
    text = render_metrics(reg(request).proxies.values())
    return web.Response(body=text.encode(),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


# ------------------------------------------------------------------ one proxy


async def show_proxy(request: web.Request) -> web.Response:
    return ok(codec.proxy_json(proxy_of(request)))


async def update_proxy(request: web.Request) -> web.Response:
    fields = codec.proxy_fields(await body(request))
    registry = reg(request)
    async with registry.lock:
        proxy = await registry.update(proxy_of(request), fields)
    return ok(codec.proxy_json(proxy))


async def delete_proxy(request: web.Request) -> web.Response:
    registry = reg(request)
    async with registry.lock:
        registry.delete(proxy_of(request))
    return no_content()


# ------------------------------------------------------------------ toxics


async def list_toxics(request: web.Request) -> web.Response:
    return ok([codec.toxic_json(t) for t in proxy_of(request).listing()])


async def create_toxic(request: web.Request) -> web.Response:
    proxy = proxy_of(request)
    fields = codec.toxic_fields(await body(request))
    kind = TOXICS.get(fields.get("type", ""))
    if kind is None:
        raise ApiError(400, "invalid toxic type")
    stream = fields.get("stream") or "downstream"
    if stream.lower() not in DIRECTIONS:
        raise ApiError(400, "stream was invalid, can be either upstream or downstream")
    toxicity = fields.get("toxicity", 1.0)
    _check_toxicity(toxicity)
    try:
        attributes = kind.parse(fields.get("attributes", {}), kind.defaults())
    except AttributeError400 as exc:
        raise ApiError(400, str(exc)) from None
    name = fields.get("name") or f"{kind.TYPE}_{stream}"
    if "/" in name:
        raise ApiError(400, "toxic name must not contain '/'")
    async with reg(request).lock:
        if proxy.toxic(name) is not None:
            raise ApiError(409, "toxic already exists")
        toxic = ToxicConfig(name, kind.TYPE, stream, toxicity, attributes)
        proxy.toxics.append(toxic)
        proxy.sync_links()
    return ok(codec.toxic_json(toxic))


def _check_toxicity(value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ApiError(400, f"toxicity must be between 0 and 1, got {value:g}")


async def show_toxic(request: web.Request) -> web.Response:
    proxy = proxy_of(request)
    return ok(codec.toxic_json(toxic_of(proxy, request)))


async def update_toxic(request: web.Request) -> web.Response:
    proxy = proxy_of(request)
    toxic = toxic_of(proxy, request)
    fields = codec.toxic_fields(await body(request))
    kind = TOXICS[toxic.type]
    toxicity = fields.get("toxicity", toxic.toxicity)
    _check_toxicity(toxicity)
    try:
        attributes = kind.parse(fields.get("attributes", {}), toxic.attributes)
    except AttributeError400 as exc:
        raise ApiError(400, str(exc)) from None
    async with reg(request).lock:
        toxic.attributes = attributes  # all or nothing: validated before applying
        if toxicity != toxic.toxicity:
            toxic.toxicity = toxicity
            for link in list(proxy.links):
                link.redraw(toxic)
    return ok(codec.toxic_json(toxic))


async def delete_toxic(request: web.Request) -> web.Response:
    proxy = proxy_of(request)
    toxic = toxic_of(proxy, request)
    async with reg(request).lock:
        proxy.toxics.remove(toxic)
        proxy.sync_links()
    return no_content()


def make_app(registry: Registry) -> web.Application:
    app = web.Application(middlewares=[shell])
    app[REGISTRY] = registry
    r = app.router
    r.add_get("/version", version, allow_head=False)
    r.add_get("/metrics", metrics, allow_head=False)
    r.add_get("/proxies", list_proxies, allow_head=False)
    r.add_post("/proxies", create_proxy)
    r.add_post("/populate", populate)
    r.add_post("/reset", reset)
    r.add_get("/proxies/{name}", show_proxy, allow_head=False)
    r.add_post("/proxies/{name}", update_proxy)
    r.add_patch("/proxies/{name}", update_proxy)
    r.add_delete("/proxies/{name}", delete_proxy)
    r.add_get("/proxies/{name}/toxics", list_toxics, allow_head=False)
    r.add_post("/proxies/{name}/toxics", create_toxic)
    r.add_get("/proxies/{name}/toxics/{toxic}", show_toxic, allow_head=False)
    r.add_post("/proxies/{name}/toxics/{toxic}", update_toxic)
    r.add_patch("/proxies/{name}/toxics/{toxic}", update_toxic)
    r.add_delete("/proxies/{name}/toxics/{toxic}", delete_toxic)
    return app
