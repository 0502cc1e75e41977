"""The HTTP API (aiohttp): CRUD, list, watch, PATCH and the pod subresources.

One catch-all route parses the Kubernetes path layout; a middleware records every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from tests.k8s.double import patch as patches
from tests.k8s.double.record import Recorder, Request, now_ns, user_of, verb_of
from tests.k8s.double.selectors import SelectorError, matcher
from tests.k8s.double.store import RESOURCES, ApiError, Event, Obj, Store


class Hooks(Protocol):
    """What the API needs from the kubelet and controllers."""

    def delete_pod(self, ns: str, name: str, grace: int | None) -> Obj: ...

    async def pod_log(self, request: web.Request, ns: str, name: str) -> web.StreamResponse: ...

    async def pod_exec(self, request: web.Request, ns: str, name: str) -> web.StreamResponse: ...

    async def pod_portforward(self, request: web.Request, ns: str,
                              name: str) -> web.StreamResponse: ...


@dataclass(frozen=True)
class Target:
    group: str  # "" for core
    version: str
    namespace: str
    resource: str
    name: str
    subresource: str


def parse_path(path: str) -> Target | None:
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    ns = ""
    if len(rest) >= 2 and rest[0] == "namespaces" and (len(rest) > 2):
        ns, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    return Target(group, version, ns, rest[0], rest[1] if len(rest) > 1 else "",
                  rest[2] if len(rest) > 2 else "")


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None
           ) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code, "details": details or {}}
    return web.json_response(body, status=code)


class Api:
    def __init__(self, store: Store, recorder: Recorder, hooks: Hooks) -> None:
        self.store, self.recorder, self.hooks = store, recorder, hooks
        self.app = web.Application(middlewares=[self._record], client_max_size=64 << 20)
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)

    @web.middleware
    async def _record(self, request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
        t = parse_path(request.path)
        query = dict(request.query)
        user = user_of(request.headers.get("Authorization", ""))
        if t is not None:
            self.recorder.add(Request(
                method=request.method, path=request.path,
                verb=verb_of(request.method, t.name, t.subresource, query),
                resource=t.resource, subresource=t.subresource, namespace=t.namespace,
                name=t.name, query=query, ts_ns=now_ns(), user=user))
        else:  # non-resource URLs (/version, /api, ...)
            self.recorder.add(Request(method=request.method, path=request.path,
                                      verb=request.method.lower(), resource="",
                                      query=query, ts_ns=now_ns(), user=user))
        try:
            return await handler(request)
        except ApiError as exc:
            return status(exc.code, exc.reason, exc.message)
        except (SelectorError, patches.PatchError) as exc:
            return status(400 if isinstance(exc, SelectorError) else 422,
                          "BadRequest" if isinstance(exc, SelectorError) else "Invalid", str(exc))

    # ------------------------------------------------------------------ routing
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.path in ("/version", "/version/"):
            return web.json_response({
                "major": "1", "minor": "30", "gitVersion": "v1.30.0-double",
                "gitCommit": "double", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "none", "compiler": "python", "platform": "linux/amd64"})
        t = parse_path(request.path)
        if t is None or t.resource not in RESOURCES:
            return status(404, "NotFound", f"the server could not find {request.path}")
        api_version = RESOURCES[t.resource][0]
        if api_version != (f"{t.group}/{t.version}" if t.group else t.version):
            return status(404, "NotFound", f"no {t.resource} in {t.group}/{t.version}")
        if t.resource == "namespaces" and t.name == "" and t.namespace:
            t = Target(t.group, t.version, "", "namespaces", t.namespace, "")
        m = request.method
        if t.subresource:
            return await self._sub(request, t)
        if not t.name:
            if m == "GET":
                if request.query.get("watch") in ("true", "1"):
                    return await self._watch(request, t)
                return self._list(request, t)
            if m == "POST":
                obj = self.store.create(t.resource, t.namespace, await request.json())
                return web.json_response(obj, status=201)
            if m == "DELETE" and t.resource == "pods":
                sel = matcher(request.query.get("labelSelector"),
                              request.query.get("fieldSelector"))
                for pod in self.store.list("pods", t.namespace, sel):
                    await asyncio.to_thread(self.hooks.delete_pod, t.namespace,
                                            pod["metadata"]["name"], None)
                return web.json_response({"kind": "PodList", "apiVersion": "v1", "items": []})
            return status(405, "MethodNotAllowed", f"{m} not allowed on a collection")
        if m == "GET":
            return web.json_response(self._get(t))
        if m == "PUT":
            body = await request.json()
            rv = (body.get("metadata") or {}).get("resourceVersion")
            if "status" in (cur := self._get(t)):  # status only through /status
                body["status"] = cur["status"]
            return web.json_response(self.store.update(t.resource, t.namespace, t.name, body, rv))
        if m == "PATCH":
            return web.json_response(await self._patch(request, t, ""))
        if m == "DELETE":
            return web.json_response(await self._delete(request, t))
        return status(405, "MethodNotAllowed", f"{m} not allowed")

    def _get(self, t: Target) -> Obj:
        obj = self.store.get(t.resource, t.namespace, t.name)
        if obj is None:
            raise ApiError(404, "NotFound", f'{t.resource} "{t.name}" not found')
        return obj

    def _list(self, request: web.Request, t: Target) -> web.Response:
        sel = matcher(request.query.get("labelSelector"), request.query.get("fieldSelector"))
        items = self.store.list(t.resource, t.namespace or None, sel)
        kind = RESOURCES[t.resource][1]
        return web.json_response({
            "kind": f"{kind}List", "apiVersion": RESOURCES[t.resource][0],
            "metadata": {"resourceVersion": str(self.store.rv)}, "items": items})

    async def _patch(self, request: web.Request, t: Target, sub: str) -> Obj:
        body = json.loads(await request.text() or "null")
        ctype = request.headers.get("Content-Type", "")
        cur = self._get(t)
        new = patches.apply(cur, body, ctype)
        if sub != "status":
            new["status"] = cur.get("status", new.get("status"))
        return self.store.update(t.resource, t.namespace, t.name, new)

    async def _delete(self, request: web.Request, t: Target) -> Obj:
        grace: int | None = None
        if request.query.get("gracePeriodSeconds") not in (None, ""):
            grace = int(request.query["gracePeriodSeconds"])
        body: Any = {}
        if request.can_read_body:
            with contextlib.suppress(ValueError):
                body = json.loads(await request.text() or "{}")
        if isinstance(body, dict):
            if body.get("gracePeriodSeconds") is not None:
                grace = int(body["gracePeriodSeconds"])
            cur = self._get(t)
            for key in ("uid", "resourceVersion"):
                want = (body.get("preconditions") or {}).get(key)
                if want is not None and want != cur["metadata"].get(key):
                    raise ApiError(409, "Conflict", f"Precondition failed: {key}: {want}, "
                                   f"object: {cur['metadata'].get(key)}")
        if t.resource == "pods":
            self._get(t)
            return await asyncio.to_thread(self.hooks.delete_pod, t.namespace, t.name, grace)
        return self.store.delete(t.resource, t.namespace, t.name)

    async def _sub(self, request: web.Request, t: Target) -> web.StreamResponse:
        base = Target(t.group, t.version, t.namespace, t.resource, t.name, "")
        if t.resource == "pods" and t.subresource == "log":
            self._get(base)
            return await self.hooks.pod_log(request, t.namespace, t.name)
        if t.resource == "pods" and t.subresource == "exec":
            self._get(base)
            return await self.hooks.pod_exec(request, t.namespace, t.name)
        if t.resource == "pods" and t.subresource == "portforward":
            self._get(base)
            return await self.hooks.pod_portforward(request, t.namespace, t.name)
        if t.subresource == "status":
            if request.method == "GET":
                return web.json_response(self._get(base))
            if request.method == "PATCH":
                return web.json_response(await self._patch(request, base, "status"))
        if t.subresource == "scale" and t.resource in ("deployments", "statefulsets"):
            obj = self._get(base)
            if request.method == "PATCH":
                body = json.loads(await request.text() or "{}")
                replicas = (body.get("spec") or {}).get("replicas")
                if replicas is not None:
                    obj["spec"]["replicas"] = int(replicas)
                    obj = self.store.update(t.resource, t.namespace, t.name, obj)
            return web.json_response({
                "kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": t.name, "namespace": t.namespace},
                "spec": {"replicas": obj["spec"].get("replicas", 1)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0)}})
        return status(404, "NotFound", f"no subresource {t.subresource} on {t.resource}")

    # ------------------------------------------------------------------ watch
    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        sel = matcher(request.query.get("labelSelector"), request.query.get("fieldSelector"))
        timeout = float(request.query.get("timeoutSeconds") or 1800)
        rv_text = request.query.get("resourceVersion") or ""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue()

        def listener(event: Event) -> None:
            if event.resource == t.resource:
                with contextlib.suppress(RuntimeError):  # the loop closed: the double stops
                    loop.call_soon_threadsafe(queue.put_nowait, event)

        unsubscribe = self.store.subscribe(listener)
        try:
            if rv_text not in ("", "0"):
                rv = int(rv_text)
                if rv < (self.store.events[0].rv - 1 if self.store.events else 0):
                    raise ApiError(410, "Expired", f"too old resource version: {rv}")
                backlog = self.store.since(t.resource, rv)
            else:
                items = self.store.list(t.resource, t.namespace or None)
                backlog = [Event(int(o["metadata"]["resourceVersion"]), "ADDED", t.resource, o)
                           for o in items]
            seen = max([e.rv for e in backlog] + [int(rv_text or 0)])
            resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            await resp.prepare(request)

            inside: set[str] = set()  # uids currently matching the selectors
            if rv_text not in ("", "0"):  # the selection as it was at that resourceVersion
                last: dict[str, Event] = {}
                for e in self.store.events:
                    if e.rv > int(rv_text):
                        break
                    if e.resource == t.resource:
                        last[e.obj["metadata"]["uid"]] = e
                inside = {uid for uid, e in last.items() if e.type != "DELETED" and sel(e.obj)
                          and (not t.namespace or e.obj["metadata"].get("namespace") ==
                               t.namespace)}

            async def send(e: Event) -> None:
                """As the watch cache: an object entering the selection is ADDED, one
                leaving it is DELETED."""
                if t.namespace and e.obj["metadata"].get("namespace") != t.namespace:
                    return
                uid, match, kind = e.obj["metadata"]["uid"], sel(e.obj), e.type
                if kind != "DELETED" and match:
                    kind = "MODIFIED" if uid in inside else "ADDED"
                    inside.add(uid)
                elif uid in inside:
                    kind = "DELETED"
                    inside.discard(uid)
                else:
                    return
                line = json.dumps({"type": kind, "object": e.obj}) + "\n"
                await resp.write(line.encode())

            for e in backlog:
                await send(e)
            deadline = loop.time() + timeout
            while (left := deadline - loop.time()) > 0:
                try:
                    e = await asyncio.wait_for(queue.get(), left)
                except TimeoutError:
                    break
                if e.rv > seen:
                    seen = e.rv
                    await send(e)
            with contextlib.suppress(ConnectionError):
                await resp.write_eof()
            return resp
        finally:
            unsubscribe()
