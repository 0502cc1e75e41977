"""The order saga: inventory.reserve -> payment.charge -> points.award.

A business rejection compensates the applied steps in reverse order (release, refund,
revoke); compensation is idempotent on the services and retried until done. Transient
failures (timeouts, connection errors, 5xx, certificate problems by default) are
retried with capped jittered backoff and the *same* idempotency key, so a retry after an
unknown outcome can never apply an effect twice. A new connection gets `connect_timeout`
(TCP connect plus TLS handshake, half the call timeout unless set), so a stalled handshake
is told apart from a lost answer: it proves the request was never sent.

A forward step still failing transiently after `step_deadline` is given up: the saga
compensates, the uncertain step included (it may have been applied with its answer
lost). The services make that safe: undoing an effect that was never applied leaves a
tombstone, so the original request arriving late is refused instead of applied.

With a `Fence` (targets/reference/fencing.py) every call carries the consumer's fencing
token and the saga stops (`Fenced`) as soon as the consumer has lost the entry to a
reclaim: it checks before compensating, and a service refusing a stale token says so.
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

from targets.reference.bugs import COMPENSATE_ONCE, takes_as_charged
from targets.reference.counters import Counters
from targets.reference.fencing import HEADER, Fence, Fenced
from targets.reference.order import Order
from targets.reference.retry import Backoff
from targets.reference.tls_errors import NOT_CERTIFICATE, classify


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
UNDO = frozenset(step.undo for step in STEPS)
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
    connect_timeout_s: float | None = None  # None: half the call timeout
    bug: str | None = None  # the variants of targets/reference/bugs.py


class Services:
    """Keep-alive HTTP(S) client for the three services."""

    def __init__(self, config: SagaConfig, ca_file: str | None, limit: int,
                 counters: Counters | None = None) -> None:
        self.config = config
        self.counters = counters if counters is not None else Counters()
        ssl_ctx = ssl.create_default_context(cafile=ca_file) if ca_file else None
        connect_s = config.connect_timeout_s
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit, ssl=ssl_ctx if ssl_ctx else True),
            timeout=aiohttp.ClientTimeout(
                total=config.call_timeout_s,
                sock_connect=config.call_timeout_s / 2 if connect_s is None else connect_s),
        )
        self.tls_failures = self.counters.tls  # kind -> failed calls (published)
        self.calls = 0
        self.slow_calls = 0  # answered, but after more than a second
        self.max_call_s = 0.0

    async def close(self) -> None:
        await self.session.close()

    async def _once(self, service: str, action: str, key: str, order: Order,
                    token: str | None = None) -> None:
        url = f"{self.config.urls[service]}/{action}"
        self.calls += 1
        started = time.monotonic()
        headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
        if token is not None:
            headers[HEADER] = token
        try:
            async with self.session.post(url, data=orjson.dumps(order.body()),
                                         headers=headers) as resp:
                body = await resp.read()
                status = resp.status
            took = time.monotonic() - started
            self.max_call_s = max(self.max_call_s, took)
            self.slow_calls += took > 1.0
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            kind = classify(exc)
            if kind is None and isinstance(exc, aiohttp.ConnectionTimeoutError) \
                    and url.startswith("https://"):
                kind = "handshake-timeout"
            if action in UNDO:
                self.counters.undo_call(service, failed=True)
            if kind is not None:
                self.counters.tls_failed(kind)
                if takes_as_charged(self.config.bug, action, kind):
                    return
                if self.config.tls_compensate and kind not in NOT_CERTIFICATE:
                    raise Rejected(f"tls:{kind}") from exc
            why = failure(exc, time.monotonic() - started, self.config.call_timeout_s)
            raise Transient(f"{service}.{action}: {why}") from exc
        if action in UNDO:
            self.counters.undo_call(service, failed=status != 200)
        if status == 200:
            return
        if status == 409 and b'"fenced"' in body:
            raise Fenced(f"{service}.{action}: {body[:200]!r}")
        if status in (400, 409, 422):
            raise Rejected(f"{service}.{action}: {status} {body[:200]!r}")
        raise Transient(f"{service}.{action}: HTTP {status}")

    async def call(
        self, service: str, action: str, key: str, order: Order, deadline: float | None = None,
        token: str | None = None,
    ) -> None:
        """Retry transient failures until a definitive answer, or GaveUp past `deadline`
        (a time.monotonic() instant; None: until cancelled)."""
        attempt = 0
        started = time.monotonic()
        while True:
            try:
                return await self._once(service, action, key, order, token)
            except Transient as exc:
                if deadline is not None and time.monotonic() >= deadline:
                    raise GaveUp(f"{attempt + 1} attempts in {time.monotonic() - started:.1f}s "
                                 f"(step_deadline {self.config.step_deadline_s:g}s), "
                                 f"last: {exc}") from exc
                attempt += 1
                if attempt in (1, 10) or attempt % 100 == 0:
                    print(f"retrying (attempt {attempt}): {exc}", file=sys.stderr, flush=True)
                await asyncio.sleep(self.config.backoff.delay(attempt))


def idempotency_key(order: Order, effect: str, idempotent: bool) -> str:
    base = f"{order.run_id}:{order.order_id}:{effect}"
    return base if idempotent else f"{base}:{uuid.uuid4().hex}"


def failure(exc: BaseException, took_s: float, limit_s: float) -> str:
    """One readable line for a failed call (a bare TimeoutError has no message)."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"TimeoutError: no answer after {took_s:.1f}s (call_timeout {limit_s:g}s)"
    return f"{type(exc).__name__}: {exc}"


async def run_saga(services: Services, order: Order, fence: Fence | None = None) -> Outcome:
    """Run the saga to a terminal outcome; compensate in reverse on a rejection.
    Raises Fenced when this consumer lost the entry (then it did nothing more)."""
    cfg = services.config
    token = fence.token if fence is not None else None
    applied: list[Step] = []
    for step in STEPS:
        deadline = None if cfg.step_deadline_s is None else \
            time.monotonic() + cfg.step_deadline_s
        try:
            await services.call(step.service, step.action,
                                idempotency_key(order, step.effect, cfg.idempotent), order,
                                deadline, token)
        except Rejected:
            await compensate(services, order, applied, fence)
            return "compensated"
        except GaveUp as exc:
            print(f"order {order.order_id}: giving up {step.effect} after {exc}; compensating",
                  file=sys.stderr, flush=True)
            # the step may have applied
            await compensate(services, order, [*applied, step], fence)
            return "compensated"
        applied.append(step)
    return "completed"


async def compensate(services: Services, order: Order, steps: list[Step],
                     fence: Fence | None = None) -> None:
    """Undo `steps` in reverse order, each retried until done (bug no-compensation: skip),
    and only while this consumer still owns the entry (Fenced otherwise)."""
    cfg = services.config
    if not cfg.compensate:
        return
    if fence is not None and not await fence.held():
        raise Fenced("lost the entry before compensating", "compensation")
    token = fence.token if fence is not None else None
    for done in reversed(steps):
        key = idempotency_key(order, done.undo_effect, cfg.idempotent)
        try:
            if cfg.bug == COMPENSATE_ONCE:
                await compensate_once(services, done, key, order, token)
            else:
                await services.call(done.service, done.undo, key, order, None, token)
        except Fenced as exc:
            exc.stage = "compensation"
            raise


async def compensate_once(services: Services, step: Step, key: str, order: Order,
                          token: str | None) -> None:
    """Bug no-compensation-retry: one attempt; a transient failure is logged and dropped."""
    try:
        await services._once(step.service, step.undo, key, order, token)
    except Transient as exc:
        print(f"order {order.order_id}: {step.undo_effect} failed, not retried (bug): {exc}",
              file=sys.stderr, flush=True)
