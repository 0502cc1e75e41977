"""A tiny TCP forwarder for tests: pass traffic, black-hole it, or refuse connections.

Runs its own asyncio loop in a thread so a test can flip modes while a real Locust process
publishes through it (the embedded fault proxy is another part's; this keeps tests standalone).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Literal

Mode = Literal["pass", "blackhole", "refuse"]


class TcpForwarder:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode: Mode = "pass"
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self._holed: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._call(self._listen())

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set_mode(self, mode: Mode) -> None:
        self._call(self._set_mode(mode))

    def close(self) -> None:
        self._call(self._set_mode("refuse"))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _set_mode(self, mode: Mode) -> None:
        old, self.mode = self.mode, mode
        if mode == "refuse":
            if self._server is not None:
                self._server.close()
                self._server = None
            self._abort(self._conns)
        elif mode == "blackhole":
            self._holed |= self._conns
        elif mode == "pass":
            self._abort(self._holed)  # their streams lost bytes: never resume them
            if old == "refuse":
                await self._listen()

    def _abort(self, conns: set[asyncio.StreamWriter]) -> None:
        for w in list(conns):
            w.transport.abort()
        conns.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        if self.mode != "pass":
            self._holed.add(writer)
            await self._drain(reader)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._conns.add(up_writer)
        await asyncio.gather(
            self._pump(reader, up_writer, writer), self._pump(up_reader, writer, up_writer)
        )

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, mine: asyncio.StreamWriter
    ) -> None:
        try:
            while data := await src.read(65536):
                if self.mode == "pass" and mine not in self._holed:
                    dst.write(data)
                else:
                    self._holed.add(mine)
                    self._holed.add(dst)
        except OSError:
            pass
        finally:
            dst.transport.abort()
            self._conns.discard(dst)
            self._conns.discard(mine)

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        try:
            while await reader.read(65536):
                pass
        except OSError:
            pass
