"""One AMQP connection with a confirm-mode channel that many publishes share at once.

Publisher confirms are pipelined: a publish sends its message and waits for its own delivery
tag's basic.ack or basic.nack while the others go on, so one connection carries the whole
load of a process (one connection per waiting publish did not reach 1,000/s: hundreds of
handshakes slowed the broker down). pika's GeventConnection runs the connection on gevent's
hub: the Locust load processes are gevent, and outside them (tests, benchmarks' setup) a
publish waiting for its confirm runs the hub itself. gevent is imported here only, when the
first publish happens, so `validate` stays light.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import AsyncResult, Event
from pika import spec
from pika.adapters import gevent_connection

from chaos.publishers.base import PublishResult

_OK = PublishResult("ok")


class _Connection(gevent_connection.GeventConnection):  # type: ignore[misc]
    """pika's GeventConnection, writing a message's frames (method, header, body) as one
    chunk: pika sends each buffered chunk with its own send(), and three system calls per
    message were the load process's largest cost at 1,000/s."""

    def _output_marshaled_frames(self, marshaled_frames: Any) -> None:
        data = b"".join(marshaled_frames)
        self.bytes_sent += len(data)
        self.frames_sent += len(marshaled_frames)
        self._adapter_emit_data(data)


def shared_io() -> Any:
    """One pika I/O services adapter on this thread's gevent hub, for all of a publisher's
    connections (pika makes a pipe per adapter and its close() would destroy the hub's loop,
    so the publisher keeps one and never closes it)."""
    loop = gevent_connection._GeventSelectorIOLoop(gevent.get_hub())
    return gevent_connection._GeventSelectorIOServicesAdapter(loop)


class Link:
    """A connection and its confirm channel; `pending` maps delivery tag -> (message id,
    waiter). `stale` links take no new publishes: their state is unknown (a confirm timed
    out) or they are going away. `on_gone` runs once, when the connection is over."""

    def __init__(self, params: Any, io: Any, on_gone: Callable[[Link], None]) -> None:
        self.ready: AsyncResult = AsyncResult()  # None once confirm mode is on, or the error
        self.gone = Event()
        self.stale = False
        self.channel: Any = None
        self.pending: dict[int, tuple[str, AsyncResult]] = {}
        self.peak = 0  # most publishes awaiting a confirm at once
        self.heard = time.monotonic()  # when the broker last confirmed anything (or opened)
        self._next_tag = 1
        self._returned: set[str] = set()  # message ids returned as unroutable
        self._on_gone = on_gone
        self.conn = _Connection(
            params, on_open_callback=self._opened, on_open_error_callback=self._open_failed,
            on_close_callback=self._closed, custom_ioloop=io,
        )

    # ------------------------------------------------------------ publishing

    def send(self, exchange: str, routing_key: str, body: bytes, properties: Any) -> AsyncResult:
        """Send one mandatory message; the waiter gets its PublishResult. Raises (nothing
        sent) when the channel is not open."""
        self.channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
        waiter: AsyncResult = AsyncResult()
        self.pending[self._next_tag] = (properties.message_id, waiter)
        self._next_tag += 1
        self.peak = max(self.peak, len(self.pending))
        return waiter

    def forget(self, waiter: AsyncResult, timeout: float) -> None:
        """The publish of `waiter` got no confirm within `timeout`. If the broker confirmed
        nothing else either, the stream is suspect (stalled, or bytes lost): the link takes no
        more publishes and closes once the rest is answered. If other confirms came, the
        broker is only slow, and a new connection would not help."""
        for tag, (_, each) in self.pending.items():
            if each is waiter:
                del self.pending[tag]
                break
        if time.monotonic() - self.heard >= timeout:
            self.stale = True
        self._close_if_idle()

    def retire(self) -> None:
        """No more publishes; close once the ones in flight are answered or timed out."""
        self.stale = True
        self._close_if_idle()

    def abort(self) -> None:
        """Drop the connection without waiting for the broker; the rest in flight are info."""
        self.stale = True
        transport = getattr(self.conn, "_transport", None)
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.abort()
        else:
            with contextlib.suppress(Exception):
                self.conn.close()
        self._end(ConnectionAbortedError("connection dropped"))

    # ------------------------------------------------------------ pika callbacks (hub)

    def _opened(self, conn: Any) -> None:
        conn.channel(on_open_callback=self._channel_open)

    def _channel_open(self, channel: Any) -> None:
        self.channel = channel
        channel.add_on_return_callback(self._returned_message)
        channel.add_on_close_callback(self._channel_closed)
        channel.confirm_delivery(ack_nack_callback=self._confirm, callback=self._confirming)

    def _confirming(self, _frame: Any) -> None:
        self.heard = time.monotonic()
        self.ready.set(None)

    def _returned_message(self, _channel: Any, _method: Any, properties: Any, _body: Any) -> None:
        # the broker sends basic.return before the basic.ack of the same message
        self._returned.add(properties.message_id)

    def _confirm(self, frame: Any) -> None:
        self.heard = time.monotonic()
        method = frame.method
        tags = [method.delivery_tag]
        if method.multiple:
            tags = []
            for tag in self.pending:  # ascending: sent in tag order
                if tag > method.delivery_tag:
                    break
                tags.append(tag)
        acked = isinstance(method, spec.Basic.Ack)
        for tag in tags:
            entry = self.pending.pop(tag, None)
            if entry is None:
                continue  # its publish timed out already
            message_id, waiter = entry
            if not acked:
                waiter.set(PublishResult("fail", "NackError"))
            elif message_id in self._returned:
                self._returned.discard(message_id)
                waiter.set(PublishResult("fail", "UnroutableError"))
            else:
                waiter.set(_OK)
        self._close_if_idle()

    def _channel_closed(self, _channel: Any, reason: BaseException) -> None:
        self.stale = True
        self._answer_all(reason)
        if self.conn.is_open:
            with contextlib.suppress(Exception):
                self.conn.close()

    def _open_failed(self, _conn: Any, error: BaseException) -> None:
        self._end(error)

    def _closed(self, _conn: Any, reason: BaseException) -> None:
        self._end(reason)

    # ------------------------------------------------------------ endings

    def _close_if_idle(self) -> None:
        if self.stale and not self.pending and not self.gone.is_set():
            self.abort()  # its stream is suspect: no close handshake to wait for

    def _answer_all(self, reason: BaseException) -> None:
        """Sent, never answered, the connection gone: the broker may have them (info)."""
        error = error_name(reason)
        pending, self.pending = self.pending, {}
        for _, waiter in pending.values():
            waiter.set(PublishResult("info", error))

    def _end(self, reason: BaseException) -> None:
        self.stale = True
        self._answer_all(reason)
        if not self.ready.ready():
            self.ready.set_exception(reason)
        if not self.gone.is_set():
            self.gone.set()
            self._on_gone(self)


def error_name(e: BaseException) -> str:
    """The most telling class name: the OS error under pika's wrappers when there is one."""
    seen: list[BaseException] = [e]
    for each in seen:  # breadth-first through args, .exception(s), cause and context
        if isinstance(each, OSError) and type(each) is not OSError:
            return type(each).__name__
        inner = [*getattr(each, "args", ()), *getattr(each, "exceptions", ()),
                 getattr(each, "exception", None),
                 each.__cause__, each.__context__]
        seen += [x for x in inner if isinstance(x, BaseException) and x not in seen][:4]
        if len(seen) > 16:
            break
    return type(e).__name__
