"""`rabbitmq` publisher: one persistent message per order, with publisher confirms.

Classification follows what the broker may have seen: `ok` when it confirmed (basic.ack);
`fail` when it certainly did not take the message (cannot connect, basic.nack, or returned as
unroutable); `info` when the message may have reached it but no answer came (timeout, the
connection lost after sending). pika's BlockingConnection fits the Locust processes: under
gevent its socket waits yield to the other publishes. A connection is used by one publish at a
time (a small pool), and one that failed is dropped, so the next publish starts on a fresh one.
At most `connections` are open at once: when confirms slow down, an unbounded pool opens one
connection per waiting publish, and their handshakes slow the broker further (hundreds of
AMQPConnectorStackTimeout on a busy machine). A publish that finds none free within
`timeout` sent nothing: `fail` with `Overloaded`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any
from urllib.parse import quote

import pika
from pika import exceptions as amqp_errors

from chaos.publishers.base import PublishResult, seconds_setting

_SETTINGS = {"address", "user", "password", "vhost", "exchange", "routing_key", "timeout",
             "connect_timeout", "heartbeat", "idle", "connections"}
_OK = PublishResult("ok")


class PublishTimeout(Exception):
    """No confirm within the publish timeout: the broker may or may not have the message."""




class RabbitMqPublisher:
    """Publisher plugin (chaos.publishers.base.Publisher) for RabbitMQ (AMQP 0-9-1).

    Settings: address (host:port, required), user / password (default guest), vhost (default
    "/"), exchange (default "", the default exchange), routing_key (default "orders": the
    queue name with the default exchange), timeout (confirm wait, default 2s),
    connect_timeout (default = timeout), heartbeat (default 10s), idle (connections kept open
    for reuse, default 32), connections (open at once at most, default 16). Each message
    carries headers order_id and run_id and message_id "RUN_ID:ORDER_ID"; it is persistent
    (delivery_mode 2) and mandatory (unroutable = fail).
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
        connect_timeout = seconds_setting(settings, "connect_timeout", self.timeout, "rabbitmq")
        heartbeat = int(seconds_setting(settings, "heartbeat", 10.0, "rabbitmq"))
        self.params = pika.ConnectionParameters(
            host=host.strip("[]"), port=int(port),
            virtual_host=str(settings.get("vhost", "/")),
            credentials=pika.PlainCredentials(str(settings.get("user", "guest")),
                                              str(settings.get("password", "guest"))),
            socket_timeout=connect_timeout, stack_timeout=connect_timeout * 2,
            blocked_connection_timeout=self.timeout, heartbeat=heartbeat,
            connection_attempts=1, retry_delay=0,
        )
        self.exchange = str(settings.get("exchange", ""))
        self.routing_key = str(settings.get("routing_key", "orders"))
        self.idle = int(settings.get("idle", 32))
        cap = settings.get("connections", 16)
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(f"rabbitmq setting connections must be a positive integer, "
                             f"got {cap!r}")
        self._slots = threading.BoundedSemaphore(cap)  # cooperative under gevent
        self.run_id = run_id
        logging.getLogger("pika").setLevel(logging.CRITICAL)  # outcomes carry the errors
        self._pool: list[tuple[Any, Any]] = []  # (connection, channel in confirm mode)

    @property
    def url(self) -> str:
        """For messages: where this publisher sends (no password)."""
        p = self.params
        return f"amqp://{p.host}:{p.port}/{quote(p.virtual_host, safe='')}"

    def publish(self, order_id: int, payload: bytes) -> PublishResult:
        if not self._slots.acquire(timeout=self.timeout):
            return PublishResult("fail", "Overloaded")  # nothing was sent
        try:
            return self._publish(order_id, payload)
        finally:
            self._slots.release()

    def _publish(self, order_id: int, payload: bytes) -> PublishResult:
        if self._pool:
            conn, channel = self._pool.pop()
        else:
            try:
                conn = pika.BlockingConnection(self.params)
                channel = conn.channel()
                channel.confirm_delivery()
            except Exception as e:  # nothing of the message was sent
                return PublishResult("fail", _error_name(e))
        properties = pika.BasicProperties(
            delivery_mode=2, message_id=f"{self.run_id}:{order_id}",
            headers={"order_id": order_id, "run_id": self.run_id},
        )
        timer = _arm_timeout(conn, self.timeout)
        try:
            channel.basic_publish(self.exchange, self.routing_key, payload, properties,
                                  mandatory=True)
        except (amqp_errors.NackError, amqp_errors.UnroutableError) as e:
            _disarm(conn, timer)
            self._keep(conn, channel)  # the broker answered: the channel is still good
            return PublishResult("fail", type(e).__name__)
        except Exception as e:  # sent, or partly sent, with no answer
            _abort(conn)
            return PublishResult("info", _error_name(e))
        _disarm(conn, timer)
        self._keep(conn, channel)
        return _OK

    def close(self) -> None:
        while self._pool:
            conn, _ = self._pool.pop()
            with contextlib.suppress(Exception):
                conn.close()

    def _keep(self, conn: Any, channel: Any) -> None:
        if len(self._pool) < self.idle and conn.is_open and channel.is_open:
            self._pool.append((conn, channel))
        else:
            with contextlib.suppress(Exception):
                conn.close()


def _arm_timeout(conn: Any, seconds: float) -> Any:
    """A timer on the connection's I/O loop that raises PublishTimeout out of the confirm wait.

    BlockingConnection.call_later only fires inside process_data_events; the I/O loop's own
    timers fire while basic_publish waits for the confirm, and an exception there ends it.
    """

    def expire() -> None:
        raise PublishTimeout(f"no publisher confirm within {seconds:g}s")

    return conn._impl.ioloop.call_later(seconds, expire)


def _disarm(conn: Any, timer: Any) -> None:
    with contextlib.suppress(Exception):
        conn._impl.ioloop.remove_timeout(timer)


def _abort(conn: Any) -> None:
    """Drop a connection whose state is unknown without waiting on the broker."""
    with contextlib.suppress(Exception):
        transport = conn._impl._transport
        if transport is not None:
            transport.abort()
    with contextlib.suppress(Exception):
        conn._impl.ioloop.close()


def _error_name(e: BaseException) -> str:
    """The most telling class name: the OS error under pika's wrappers when there is one."""
    seen: list[BaseException] = [e]
    for each in seen:  # breadth-first through args, .exception, cause and context
        if isinstance(each, OSError) and type(each) is not OSError:
            return type(each).__name__
        inner = [*getattr(each, "args", ()), getattr(each, "exception", None),
                 each.__cause__, each.__context__]
        seen += [x for x in inner if isinstance(x, BaseException) and x not in seen][:4]
        if len(seen) > 16:
            break
    return type(e).__name__
