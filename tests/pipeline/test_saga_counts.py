"""The saga's counts of its rare paths, over real sockets: a TLS handshake that stalls is a
`handshake-timeout` (nothing sent: retried, never taken as made, except by its bug
variant), and every compensation call is counted with its failures, retried until done
(only the bug variant drops one)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from targets.reference.bugs import COMPENSATE_ONCE, TIMEOUT_AS_CHARGED
from targets.reference.order import Order
from targets.reference.retry import Backoff
from targets.reference.saga import STEPS, GaveUp, SagaConfig, Services, compensate

ORDER = Order("run", 1, "sku-1", 1, 100, "c-1", "4111")
FAST = Backoff(0.01, 0.05)


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts TCP connections and never answers: a ClientHello gets no ServerHello."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for w in held:
            w.close()
        server.close()


async def _charge(bug: str | None) -> tuple[BaseException | None, dict[str, int]]:
    async with silent_server() as port:
        config = SagaConfig({"payment": f"https://127.0.0.1:{port}"}, call_timeout_s=0.6,
                            backoff=FAST, bug=bug)
        services = Services(config, None, limit=4)
        try:
            await services.call("payment", "charge", "k", ORDER, deadline=0.0)
        except GaveUp as exc:
            return exc, dict(services.tls_failures)
        finally:
            await services.close()
    return None, dict(services.tls_failures)


def test_a_stalled_handshake_is_a_handshake_timeout_and_not_a_charge() -> None:
    error, tls = asyncio.run(_charge(None))
    assert isinstance(error, GaveUp) and "ConnectionTimeoutError" in str(error)
    assert tls == {"handshake-timeout": 1}


def test_the_bug_variant_takes_a_stalled_handshake_as_a_charge() -> None:
    error, tls = asyncio.run(_charge(TIMEOUT_AS_CHARGED))
    assert error is None and tls == {"handshake-timeout": 1}


@pytest.mark.parametrize(("bug", "released"), [(None, True), (COMPENSATE_ONCE, False)])
def test_compensation_calls_are_counted_and_retried_until_done(
    bug: str | None, released: bool
) -> None:
    async def scenario() -> tuple[int, dict[str, dict[str, int]]]:
        answers = [503, 503, 200]  # inventory fails twice, then releases
        calls = 0

        async def release(_req: web.Request) -> web.Response:
            nonlocal calls
            calls += 1
            return web.json_response({}, status=answers[min(calls, len(answers)) - 1])

        app = web.Application()
        app.router.add_post("/release", release)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        config = SagaConfig({"inventory": f"http://127.0.0.1:{port}"}, backoff=FAST, bug=bug)
        services = Services(config, None, limit=4)
        try:
            await compensate(services, ORDER, [STEPS[0]])
        finally:
            await services.close()
            await runner.cleanup()
        return calls, services.counters.compensation

    calls, counted = asyncio.run(scenario())
    if released:
        assert calls == 3 and counted == {"inventory": {"calls": 3, "failures": 2}}
    else:
        assert calls == 1 and counted == {"inventory": {"calls": 1, "failures": 1}}
