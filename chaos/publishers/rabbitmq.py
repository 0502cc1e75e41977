"""`rabbitmq` publisher: one persistent message per order, with publisher confirms.

Classification follows what the broker may have seen: `ok` when it confirmed (basic.ack);
`fail` when it certainly did not take the message (cannot connect, basic.nack, or returned as
unroutable); `info` when the message may have reached it but no answer came (timeout, the
connection lost after sending). One connection carries every publish of a load process,
its confirms pipelined (chaos/publishers/amqp_link.py): each publish waits for its own
delivery tag. A connection on which a confirm timed out, with no other confirm for as long,
takes no new publishes (its stream is suspect: stalled, or bytes lost); the next publish
opens a fresh one, and the old one closes once its last publish is answered or timed out.
At most `connections` are open at once; a publish that finds none usable within `timeout`
sent nothing: `fail` with `Overloaded`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any
from urllib.parse import quote

import pika

from chaos.publishers.base import PublishResult, seconds_setting

_SETTINGS = {"address", "user", "password", "vhost", "exchange", "routing_key", "timeout",
             "connect_timeout", "heartbeat", "connections"}


class PublishTimeout(Exception):
    """No confirm within the publish timeout: the broker may or may not have the message."""


class RabbitMqPublisher:
    """Publisher plugin (chaos.publishers.base.Publisher) for RabbitMQ (AMQP 0-9-1).

    Settings: address (host:port, required), user / password (default guest), vhost (default
    "/"), exchange (default "", the default exchange), routing_key (default "orders": the
    queue name with the default exchange), timeout (confirm wait, default 2s),
    connect_timeout (default = timeout), heartbeat (default 10s), connections (open at once
    at most, default 16). Each message carries headers order_id and run_id and message_id
    "RUN_ID:ORDER_ID"; it is persistent (delivery_mode 2) and mandatory (unroutable = fail).
    """

    description = "one confirmed, persistent AMQP publish per order; ok on ack, fail on nack"

    def __init__(self, settings: dict[str, Any], run_id: str) -> None:
        unknown = set(settings) - _SETTINGS
        if unknown:
            raise ValueError(f"unknown rabbitmq setting(s): {', '.join(sorted(unknown))}")
        address = settings.get("address")
        host, _, port = str(address).rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"rabbitmq setting address must be host:port, got {address!r}")
        self.timeout = seconds_setting(settings, "timeout", 2.0, "rabbitmq")
        self.connect_timeout = seconds_setting(settings, "connect_timeout", self.timeout,
                                               "rabbitmq")
        heartbeat = int(seconds_setting(settings, "heartbeat", 10.0, "rabbitmq"))
        self.params = pika.ConnectionParameters(
            host=host.strip("[]"), port=int(port),
            virtual_host=str(settings.get("vhost", "/")),
            credentials=pika.PlainCredentials(str(settings.get("user", "guest")),
                                              str(settings.get("password", "guest"))),
            socket_timeout=self.connect_timeout, stack_timeout=self.connect_timeout * 2,
            blocked_connection_timeout=self.timeout, heartbeat=heartbeat,
            connection_attempts=1, retry_delay=0,
        )
        self.exchange = str(settings.get("exchange", ""))
        self.routing_key = str(settings.get("routing_key", "orders"))
        cap = settings.get("connections", 16)
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(f"rabbitmq setting connections must be a positive integer, "
                             f"got {cap!r}")
        self.cap = cap
        self.run_id = run_id
        self.opened = 0  # connections opened so far
        self.peak_in_flight = 0  # most publishes awaiting confirms on one connection at once
        logging.getLogger("pika").setLevel(logging.CRITICAL)  # outcomes carry the errors
        self._slots: Any = None  # gevent BoundedSemaphore(cap): one per open connection
        self._io: Any = None  # pika's I/O adapter on the gevent hub, shared by the connections
        self._active: Any = None  # the Link new publishes go to
        self._links: set[Any] = set()  # every open Link, the active one and the draining ones

    @property
    def url(self) -> str:
        """For messages: where this publisher sends (no password)."""
        p = self.params
        return f"amqp://{p.host}:{p.port}/{quote(p.virtual_host, safe='')}"

    def publish(self, order_id: int, payload: bytes) -> PublishResult:
        import gevent

        link = self._link(time.monotonic() + self.timeout)
        if isinstance(link, PublishResult):
            return link  # nothing was sent
        properties = pika.BasicProperties(
            delivery_mode=2, message_id=f"{self.run_id}:{order_id}",
            headers={"order_id": order_id, "run_id": self.run_id},
        )
        try:
            waiter = link.send(self.exchange, self.routing_key, payload, properties)
        except Exception as e:  # the channel was not open: nothing left this process
            link.retire()
            return PublishResult("fail", _error_name(e))
        self.peak_in_flight = max(self.peak_in_flight, link.peak)
        try:
            result: PublishResult = waiter.get(timeout=self.timeout)
        except gevent.Timeout:
            link.forget(waiter, self.timeout)
            return PublishResult("info", PublishTimeout.__name__)
        return result

    def close(self) -> None:
        """Close every connection, waiting a little for the broker's close-ok."""
        links, self._active = list(self._links), None
        for link in links:
            link.stale = True
            with contextlib.suppress(Exception):
                link.conn.close()
        for link in links:
            if not link.gone.wait(timeout=1.0):
                link.abort()

    def _link(self, deadline: float) -> Any:
        """The connection to publish on, opened if need be; a PublishResult (fail) when none
        is usable before `deadline` or it cannot be opened."""
        import gevent

        from chaos.publishers import amqp_link

        if self._slots is None:
            from gevent.lock import BoundedSemaphore

            self._slots = BoundedSemaphore(self.cap)
            self._io = amqp_link.shared_io()
        while True:
            link = self._active
            if link is None or link.stale:
                if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    return PublishResult("fail", "Overloaded")
                if self._active is not None and not self._active.stale:
                    self._slots.release()  # another publish opened one meanwhile
                    continue
                link = self._active = amqp_link.Link(self.params, self._io, self._gone)
                self._links.add(link)
                self.opened += 1
            try:
                link.ready.get(timeout=self.connect_timeout * 2 + 1)
            except (Exception, gevent.Timeout) as e:  # cannot connect: nothing was sent
                if not link.gone.is_set():
                    link.abort()
                timed_out = isinstance(e, gevent.Timeout)
                return PublishResult("fail", "ConnectTimeout" if timed_out else _error_name(e))
            if not link.stale:
                return link

    def _gone(self, link: Any) -> None:
        self._links.discard(link)
        if self._active is link:
            self._active = None
        self._slots.release()


def _error_name(e: BaseException) -> str:
    from chaos.publishers.amqp_link import error_name

    return error_name(e)
