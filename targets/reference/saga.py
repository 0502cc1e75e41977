"""The order saga: inventory.reserve -> payment.charge -> points.award.

A business rejection compensates the applied steps in reverse order (release, refund,
revoke); compensation is idempotent on the services and retried until done. Transient
failures (timeouts, connection errors, 5xx, certificate problems by default) are
retried with capped jittered backoff and the *same* idempotency key, so a retry after an
unknown outcome can never apply an effect twice.

A forward step still failing transiently after `step_deadline` is given up: the saga
compensates, the uncertain step included (it may have been applied with its answer
lost). The services make that safe: undoing an effect that was never applied leaves a
tombstone, so the original request arriving late is refused instead of applied.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
import orjson

from targets.reference.order import Order
from targets.reference.retry import Backoff
from targets.reference.tls_errors import classify


@dataclass(frozen=True)
class Step:
    service: str
    action: str
    undo: str

    @property
    def effect(self) -> str:
        return f"{self.service}.{self.action}"

    @property
    def undo_effect(self) -> str:
        return f"{self.service}.{self.undo}"


STEPS = (Step("inventory", "reserve", "release"), Step("payment", "charge", "refund"),
         Step("points", "award", "revoke"))
Outcome = Literal["completed", "compensated"]


class Rejected(Exception):
    """A definitive no from a service (or a TLS failure under `tls_errors: compensate`)."""


class Transient(Exception):
    pass


class GaveUp(Exception):
    """A forward step kept failing transiently past the step deadline."""


@dataclass
class SagaConfig:
    urls: dict[str, str]  # service -> base URL (through its proxy)
    call_timeout_s: float = 2.0
    backoff: Backoff = field(default_factory=Backoff)
    tls_compensate: bool = False
    step_deadline_s: float | None = 4.0  # None: retry a forward step forever
    idempotent: bool = True  # False = bug no-idempotency
    compensate: bool = True  # False = bug no-compensation


class Services:
    """Keep-alive HTTP(S) client for the three services."""

    def __init__(self, config: SagaConfig, ca_file: str | None, limit: int) -> None:
        self.config = config
        ssl_ctx = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit, ssl=ssl_ctx if ssl_ctx else True),
            timeout=aiohttp.ClientTimeout(total=config.call_timeout_s),
        )
        self.tls_failures: dict[str, int] = {}
        self.calls = 0
        self.slow_calls = 0  # answered, but after more than a second
        self.max_call_s = 0.0

    async def close(self) -> None:
        await self.session.close()

    async def _once(self, service: str, action: str, key: str, order: Order) -> None:
        url = f"{self.config.urls[service]}/{action}"
        self.calls += 1
        started = time.monotonic()
        try:
            async with self.session.post(
                url, data=orjson.dumps(order.body()),
                headers={"Idempotency-Key": key, "Content-Type": "application/json"},
            ) as resp:
                body = await resp.read()
                status = resp.status
            took = time.monotonic() - started
            self.max_call_s = max(self.max_call_s, took)
            self.slow_calls += took > 1.0
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            kind = classify(exc)
            if kind is not None:
                self.tls_failures[kind] = self.tls_failures.get(kind, 0) + 1
                if self.config.tls_compensate and kind != "handshake":
                    raise Rejected(f"tls:{kind}") from exc
            raise Transient(f"{service}.{action}: {type(exc).__name__}: {exc}") from exc
        if status == 200:
            return
        if status in (400, 409, 422):
            raise Rejected(f"{service}.{action}: {status} {body[:200]!r}")
        raise Transient(f"{service}.{action}: HTTP {status}")

    async def call(
        self, service: str, action: str, key: str, order: Order, deadline: float | None = None
    ) -> None:
        """Retry transient failures until a definitive answer, or GaveUp past `deadline`
        (a time.monotonic() instant; None: until cancelled)."""
        attempt = 0
        while True:
            try:
                return await self._once(service, action, key, order)
            except Transient as exc:
                if deadline is not None and time.monotonic() >= deadline:
                    raise GaveUp(str(exc)) from exc
                attempt += 1
                if attempt in (1, 10) or attempt % 100 == 0:
                    print(f"retrying (attempt {attempt}): {exc}", file=sys.stderr, flush=True)
                await asyncio.sleep(self.config.backoff.delay(attempt))


def idempotency_key(order: Order, effect: str, idempotent: bool) -> str:
    base = f"{order.run_id}:{order.order_id}:{effect}"
    return base if idempotent else f"{base}:{uuid.uuid4().hex}"


async def run_saga(services: Services, order: Order) -> Outcome:
    """Run the saga to a terminal outcome; compensate in reverse on a rejection."""
    cfg = services.config
    applied: list[Step] = []
    for step in STEPS:
        deadline = None if cfg.step_deadline_s is None else \
            time.monotonic() + cfg.step_deadline_s
        try:
            await services.call(step.service, step.action,
                                idempotency_key(order, step.effect, cfg.idempotent), order,
                                deadline)
        except Rejected:
            await compensate(services, order, applied)
            return "compensated"
        except GaveUp as exc:
            print(f"order {order.order_id}: giving up {step.effect} ({exc}); compensating",
                  file=sys.stderr, flush=True)
            await compensate(services, order, [*applied, step])  # the step may have applied
            return "compensated"
        applied.append(step)
    return "completed"


async def compensate(services: Services, order: Order, steps: list[Step]) -> None:
    """Undo `steps` in reverse order, each retried until done (bug no-compensation: skip)."""
    cfg = services.config
    if not cfg.compensate:
        return
    for done in reversed(steps):
        await services.call(done.service, done.undo,
                            idempotency_key(order, done.undo_effect, cfg.idempotent), order)
