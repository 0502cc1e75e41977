"""A userspace kube-proxy: one TCP listener per Service port on its ClusterIP, forwarding
each connection to a Ready endpoint (round robin)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

from tests.k8s.double import podspec
from tests.k8s.double.controllers import is_ready
from tests.k8s.double.selectors import selector_dict
from tests.k8s.double.store import Store


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


def endpoints(store: Store, ns: str, name: str, port: int) -> list[tuple[str, int]]:
    """The Ready endpoints (pod IP, target port) of a Service port; terminating pods are
    left out (is_ready), as the Endpoints controller does."""
    svc = store.get("services", ns, name)
    if svc is None or not svc["spec"].get("selector"):
        return []
    sp = next((p for p in svc["spec"].get("ports") or [] if p["port"] == port), None)
    if sp is None:
        return []
    match = selector_dict({"matchLabels": svc["spec"]["selector"]})
    out = []
    for pod in store.list("pods", ns, lambda p: match(p["metadata"].get("labels") or {})):
        ip = (pod.get("status") or {}).get("podIP")
        if ip and is_ready(pod):
            with contextlib.suppress(KeyError):
                out.append((ip, podspec.port_number(pod, sp.get("targetPort", port))))
    return sorted(out)


class KubeProxy:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._servers: dict[tuple[str, str, int], asyncio.Server] = {}
        self._rr = itertools.count()
        self.connections = 0  # accepted so far (tests tell kernel Services from this proxy)

    async def sync(self) -> None:
        """Open listeners for new Service ports, close those of deleted ones."""
        want: set[tuple[str, str, int]] = set()
        where: dict[tuple[str, str, int], str] = {}
        for svc in self.store.list("services"):
            ip = svc["spec"].get("clusterIP")
            if not ip or ip == "None":
                continue
            for p in svc["spec"].get("ports") or []:
                key = (svc["metadata"]["namespace"], svc["metadata"]["name"], int(p["port"]))
                want.add(key)
                where[key] = ip
        for key in set(self._servers) - want:
            self._servers.pop(key).close()
        for key in want - set(self._servers):
            ns, name, port = key

            async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter,
                             ns: str = ns, name: str = name, port: int = port) -> None:
                try:
                    await self._forward(r, w, ns, name, port)
                except asyncio.CancelledError:  # the double stops: end quietly
                    w.close()

            with contextlib.suppress(OSError):  # retried on the next sync
                self._servers[key] = await asyncio.start_server(handle, where[key], port)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       ns: str, name: str, port: int) -> None:
        self.connections += 1
        backends = endpoints(self.store, ns, name, port)
        if not backends:
            writer.close()  # no ready endpoint: connection refused-like, as kube-proxy's REJECT
            return
        host, target = backends[next(self._rr) % len(backends)]
        try:
            up_r, up_w = await asyncio.open_connection(host, target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
        for w in (writer, up_w):
            w.close()

    async def close(self) -> None:
        for server in self._servers.values():
            server.close()
        self._servers.clear()
