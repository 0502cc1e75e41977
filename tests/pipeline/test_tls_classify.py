"""Real handshakes against a loopback TLS server with each kind of bad certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path

import aiohttp
import pytest

from chaos.tls.certs import make_ca, make_server_cert
from targets.reference.tls_errors import classify

NOW = dt.datetime.now(dt.UTC)
DAY = dt.timedelta(days=1)


async def _handshake_error(tmp: Path, cert: bytes, key: bytes, ca: bytes) -> BaseException:
    (tmp / "c.pem").write_bytes(cert)
    (tmp / "k.pem").write_bytes(key)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp / "c.pem", tmp / "k.pem")

    async def handle(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cadata=ca.decode())
    try:
        async with aiohttp.ClientSession() as s:
            await s.get(f"https://127.0.0.1:{port}/", ssl=client_ctx)
    except aiohttp.ClientError as exc:
        return exc
    finally:
        server.close()
    raise AssertionError("handshake unexpectedly succeeded")


@pytest.mark.parametrize(
    ("kind", "hosts", "window", "other_ca"),
    [
        ("expired", ["127.0.0.1"], (NOW - 10 * DAY, NOW - 5 * DAY), False),
        ("not-yet-valid", ["127.0.0.1"], (NOW + 5 * DAY, NOW + 10 * DAY), False),
        ("hostname-mismatch", ["example.com"], (None, None), False),
        ("untrusted", ["127.0.0.1"], (None, None), True),
    ],
)
def test_classify_certificate_failures(tmp_path: Path, kind: str, hosts: list[str],
                                       window: tuple[dt.datetime | None, dt.datetime | None],
                                       other_ca: bool) -> None:
    ca, ca_key = make_ca("trusted")
    signer = make_ca("other") if other_ca else (ca, ca_key)
    cert, key = make_server_cert(signer[0], signer[1], hosts, not_before=window[0],
                                 not_after=window[1])
    exc = asyncio.run(_handshake_error(tmp_path, cert, key, ca))
    assert classify(exc) == kind


def test_non_tls_errors_are_not_classified() -> None:
    assert classify(ConnectionRefusedError(111, "refused")) is None
    assert classify(TimeoutError()) is None
