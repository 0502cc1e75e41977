"""`tls`: terminate TLS on the hop with a given (bad) certificate: an extension the real
Toxiproxy lacks (Shopify/toxiproxy#472).

Put it on the `upstream` stream (client -> server). The runner swallows the client's bytes,
answers the handshake itself with `cert`/`key` (PEM attributes), and never lets a byte reach
the real upstream over the link, so the client sees exactly the certificate the fault chose.
A client that (wrongly) accepts it gets a working connection: the runner re-originates
TLS to the upstream on a connection of its own (`upstream_tls: 1`, the default; 0 for a
plain upstream) and relays plaintext both ways. A connection that already carried TLS
records when the toxic arrived is closed at its next record, so the client reconnects and
meets the bad certificate; removing the toxic closes the connections it terminated.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import ssl
import sys
import tempfile
from collections.abc import Mapping
from typing import Any, ClassVar

from chaos.proxy.toxics.base import AttributeError400, Chunk, Forward, Runner

HANDSHAKE_RECORD = 0x16  # first byte of a TLS record carrying a ClientHello
READ_SIZE = 1 << 16
_CONTEXTS: dict[str, ssl.SSLContext] = {}


def server_context(cert_pem: str, key_pem: str) -> ssl.SSLContext:
    """A server context for the pair (cached: every connection of a toxic shares it)."""
    digest = hashlib.sha256((cert_pem + "\0" + key_pem).encode()).hexdigest()
    ctx = _CONTEXTS.get(digest)
    if ctx is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="pipechaos-tls-") as tmp:
            cert_file, key_file = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            with open(cert_file, "w") as fh:
                fh.write(cert_pem)
            with open(key_file, "w", opener=lambda p, f: os.open(p, f, 0o600)) as fh:
                fh.write(key_pem)
            ctx.load_cert_chain(cert_file, key_file)
        if len(_CONTEXTS) >= 32:
            _CONTEXTS.clear()
        _CONTEXTS[digest] = ctx
    return ctx


def upstream_context() -> ssl.SSLContext:
    """The relay trusts its own upstream: the fault is about what the client sees."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Tls(Runner):
    TYPE: ClassVar[str] = "tls"
    GO_NAME: ClassVar[str] = "TlsToxic"
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()

    _task: asyncio.Task[None] | None = None
    _writer: asyncio.StreamWriter | None = None

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"cert": "", "key": "", "upstream_tls": 1}

    @classmethod
    def parse(cls, raw: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key in ("cert", "key"):
            if raw.get(key) is not None:
                if not isinstance(raw[key], str):
                    raise AttributeError400(f"tls attribute {key} must be a PEM string")
                out[key] = raw[key]
        flag = raw.get("upstream_tls")
        if flag is not None:
            if isinstance(flag, bool) or flag not in (0, 1):
                raise AttributeError400("tls attribute upstream_tls must be 0 or 1")
            out["upstream_tls"] = int(flag)
        if not out["cert"] or not out["key"]:
            raise AttributeError400("tls toxic needs attributes cert and key (PEM text)")
        try:
            server_context(out["cert"], out["key"])
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise AttributeError400(f"tls attributes cert/key do not load: {exc}") from None
        return out

    # ------------------------------------------------------------- data path

    def start(self) -> None:
        attrs = self.toxic.attributes
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        ctx = server_context(attrs["cert"], attrs["key"])
        self._tls = ctx.wrap_bio(self._in, self._out, server_side=True)
        self._first = True
        self._shaken = False
        self._pending: list[bytes] = []
        # the link is the proxy's Link: its client side and the proxy's upstream address
        client = getattr(self.link, "client", None)
        self._client: asyncio.Transport | None = getattr(client, "transport", None)
        proxy = getattr(self.link, "proxy", None)
        self._upstream: str | None = getattr(proxy, "upstream", None)
        if self._client is None or self._upstream is None:
            # not a link we know how to answer on: refuse loudly rather than stall
            print("tls toxic: link exposes no client transport/upstream; closing",
                  file=sys.stderr, flush=True)
            self.link.close()

    async def handle(self, chunk: Chunk, forward: Forward) -> None:
        if self.stopped:
            return
        if chunk.data is None:
            self.link.close()
            return
        if self._first:
            self._first = False
            if chunk.data[:1] != bytes([HANDSHAKE_RECORD]):
                self.link.close()  # mid-session when the toxic arrived: make it reconnect
                return
        self._in.write(chunk.data)
        if not self._shaken:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                self._flush()
                return
            except ssl.SSLError:
                self._flush()  # our alert, if any, then the end: the client said no
                self.link.close()
                return
            self._shaken = True
            self._flush()
            self._task = asyncio.get_running_loop().create_task(self._relay())
        await self._plaintext_up()

    def _flush(self) -> None:
        data = self._out.read()
        if data and self._client is not None and not self._client.is_closing():
            self._client.write(data)

    async def _plaintext_up(self) -> None:
        while True:
            try:
                data = self._tls.read(READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLError:
                self.link.close()
                return
            if not data:  # close_notify from the client
                self.link.close()
                return
            if self._writer is None:
                self._pending.append(data)
            else:
                self._writer.write(data)
                await self._writer.drain()
        self._flush()  # e.g. session tickets or key updates

    async def _relay(self) -> None:
        """Our own connection to the upstream; its answers go back through our TLS."""
        try:
            if self._upstream is None:
                raise OSError("no upstream address on this link")
            host, _, port = self._upstream.rpartition(":")
            tls = upstream_context() if self.toxic.attributes.get("upstream_tls", 1) else None
            reader, writer = await asyncio.open_connection(host.strip("[]"), int(port), ssl=tls)
            self._writer = writer
            for data in self._pending:
                writer.write(data)
            self._pending.clear()
            await writer.drain()
            while not self.stopped:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                self._tls.write(data)
                self._flush()
        except asyncio.CancelledError:
            raise
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            if self._writer is not None:
                self._writer.close()
        self.link.close()

    def stop(self, removed: bool) -> None:
        super().stop(removed)
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        if self._writer is not None:
            with contextlib.suppress(RuntimeError):
                self._writer.close()
        if removed or not getattr(self, "_first", True):
            # a terminated connection cannot fall back to passthrough: the client's session
            # is with us (also when a toxicity change redraws this connection)
            self.link.close()
