"""Pod subresources that stream: log, exec and portforward (WebSocket, v4.channel.k8s.io).

Over WebSockets both exec and port-forward speak `v4.channel.k8s.io` (the client offers
v5 then v4; `portforward.k8s.io` is the SPDY name, which the Python client never uses):
every frame starts with a channel byte. exec: 0 stdin, 1 stdout, 2 stderr, 3 status (JSON).
portforward: port i has data channel 2i and error channel 2i+1, each opened by a frame
holding the port number (2 bytes, little-endian).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from pathlib import Path

from aiohttp import WSMsgType, web

from tests.k8s.double.api import status
from tests.k8s.double.kubelet import Kubelet, PodWorker
from tests.k8s.double.store import Obj

PROTOCOLS = ("v4.channel.k8s.io", "portforward.k8s.io")


def _running(kubelet: Kubelet, ns: str, name: str) -> PodWorker | None:
    worker = kubelet.worker(ns, name)
    if worker is None or worker.container is None or not worker.container.running():
        return None
    return worker


def _parse_ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class PodStreams:
    """The `Hooks` the API needs, on top of the kubelet."""

    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet

    def delete_pod(self, ns: str, name: str, grace: int | None) -> Obj:
        return self.kubelet.delete_pod(ns, name, grace)

    # ------------------------------------------------------------------ log
    async def pod_log(self, request: web.Request, ns: str, name: str) -> web.StreamResponse:
        q = request.query
        worker = self.kubelet.worker(ns, name)
        path = worker.log_file(q.get("previous") == "true") if worker is not None else None
        if path is None and q.get("previous") == "true":
            return status(400, "BadRequest", f'previous terminated container in pod "{name}" '
                          "not found")
        since = None
        if q.get("sinceSeconds"):
            since = datetime.now().timestamp() - float(q["sinceSeconds"])
        if q.get("sinceTime"):
            since = _parse_ts(q["sinceTime"])
        stamps = q.get("timestamps") == "true"

        def render(raw: list[str]) -> list[str]:
            out = []
            for line in raw:
                ts, _, rest = line.partition(" ")
                if since is not None and _parse_ts(ts) < since:
                    continue
                out.append(line if stamps else rest)
            return out

        lines = render(path.read_text(errors="replace").splitlines(keepends=True)
                       if path is not None else [])
        if q.get("tailLines"):
            lines = lines[-int(q["tailLines"]):] if int(q["tailLines"]) > 0 else []
        body = "".join(lines)
        if q.get("limitBytes"):
            body = body[: int(q["limitBytes"])]
        if q.get("follow") != "true" or path is None or worker is None:
            return web.Response(text=body, content_type="text/plain")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        await resp.write(body.encode())
        await self._follow(resp, worker, path, stamps)
        return resp

    async def _follow(self, resp: web.StreamResponse, worker: PodWorker, path: Path,
                      stamps: bool) -> None:
        offset = path.stat().st_size
        container = worker.container
        while True:
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read()
            if chunk:
                offset += len(chunk)
                lines = chunk.decode(errors="replace").splitlines(keepends=True)
                text = "".join(ln if stamps else ln.partition(" ")[2] for ln in lines)
                try:
                    await resp.write(text.encode())
                except ConnectionError:
                    return
            if container is None or not container.running():
                return
            await asyncio.sleep(0.1)

    # ------------------------------------------------------------------ exec
    async def pod_exec(self, request: web.Request, ns: str, name: str) -> web.StreamResponse:
        worker = _running(self.kubelet, ns, name)
        if worker is None or worker.container is None:
            return status(400, "BadRequest", f"container not running in pod {name}")
        command = request.query.getall("command", [])
        if not command:
            return status(400, "BadRequest", "you must specify at least 1 command")
        ws = web.WebSocketResponse(protocols=PROTOCOLS)
        await ws.prepare(request)
        use_stdin = request.query.get("stdin") in ("true", "1")
        proc = await asyncio.create_subprocess_exec(
            *self.kubelet.nsenter(worker.container.pid1), *command,
            stdin=asyncio.subprocess.PIPE if use_stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=worker.env, cwd=self.kubelet.root)

        async def out(stream: asyncio.StreamReader | None, channel: int) -> None:
            assert stream is not None
            while data := await stream.read(65536):
                with contextlib.suppress(ConnectionError):
                    await ws.send_bytes(bytes([channel]) + data)

        async def inp() -> None:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY and msg.data[:1] == b"\x00" and proc.stdin:
                    proc.stdin.write(msg.data[1:])
                    with contextlib.suppress(ConnectionError):
                        await proc.stdin.drain()
                elif msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break

        reader = asyncio.ensure_future(inp())
        await asyncio.gather(out(proc.stdout, 1), out(proc.stderr, 2))
        code = await proc.wait()
        reader.cancel()
        if code == 0:
            result = {"metadata": {}, "status": "Success"}
        else:
            result = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                      "message": f"command terminated with non-zero exit code: exit code {code}",
                      "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
        with contextlib.suppress(ConnectionError):
            await ws.send_bytes(b"\x03" + json.dumps(result).encode())
            await ws.close()
        return ws

    # ------------------------------------------------------------------ portforward
    async def pod_portforward(self, request: web.Request, ns: str,
                              name: str) -> web.StreamResponse:
        worker = _running(self.kubelet, ns, name)
        if worker is None:
            return status(400, "BadRequest", f"pod {name} is not running")
        ports = [int(p) for v in request.query.getall("ports", []) for p in v.split(",") if p]
        if not ports:
            return status(400, "BadRequest", "at least one port must be specified")
        ws = web.WebSocketResponse(protocols=PROTOCOLS)
        await ws.prepare(request)
        writers: dict[int, asyncio.StreamWriter] = {}
        pumps = []
        for i, port in enumerate(ports):
            for channel in (2 * i, 2 * i + 1):
                await ws.send_bytes(bytes([channel]) + port.to_bytes(2, "little"))
            try:
                reader, writer = await asyncio.open_connection(worker.ip, port)
            except OSError as exc:
                await ws.send_bytes(bytes([2 * i + 1]) + (
                    f"error forwarding port {port} to pod {name}: {exc}").encode())
                continue
            writers[i] = writer
            pumps.append(asyncio.ensure_future(self._to_ws(reader, ws, 2 * i)))
        if not writers:
            await ws.close()
            return ws

        async def close_when_pod_side_ends() -> None:
            await asyncio.gather(*pumps, return_exceptions=True)
            await ws.close()

        closer = asyncio.ensure_future(close_when_pod_side_ends())
        try:
            async for msg in ws:
                if msg.type != WSMsgType.BINARY or not msg.data:
                    continue
                writer = writers.get(msg.data[0] // 2)
                if writer is not None and msg.data[0] % 2 == 0:
                    writer.write(msg.data[1:])
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
        finally:
            for writer in writers.values():
                writer.close()
            for task in (*pumps, closer):
                task.cancel()
            await asyncio.gather(*pumps, closer, return_exceptions=True)
        return ws

    @staticmethod
    async def _to_ws(reader: asyncio.StreamReader, ws: web.WebSocketResponse,
                     channel: int) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                await ws.send_bytes(bytes([channel]) + data)

