"""`outcome-stream` observer: the pipeline's final state from the outcome events it emits.

The pipeline puts one event per order (and one per applied effect, dead letter, ...:
chaos/observers/events.py, docs/own-pipeline.md) on a Redis stream or a RabbitMQ queue; after
drain the observer reads them all, without consuming them, and writes observations.json.
prepare() connects and checks the stream or queue, so an unreachable server, a key that is
not a stream, a missing queue or a stream of something else ends the run with one line
before any fault. redis and pika are imported here only, when the observer is used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pika
import redis
from pika import exceptions as amqp_errors
from redis.backoff import NoBackoff
from redis.retry import Retry

from chaos.observers.base import ObserverError
from chaos.observers.events import Event, check_event, fold
from chaos.observers.tables import TABLES, bulk, document, shape, write_document
from chaos.spec.units import parse_duration

if TYPE_CHECKING:
    from chaos.platforms.base import Platform

_SETTINGS = {"redis", "stream", "rabbitmq", "queue", "user", "password", "vhost", "tables",
             "saga", "effects", "max_attempts", "totals_scope", "timeout"}
_CHUNK = 10_000
_SAMPLE = 10  # newest stream entries checked in prepare()


def _address(value: Any, name: str) -> tuple[str, int]:
    host, _, port = str(value).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ObserverError(f"outcome-stream observer setting {name} must be host:port, "
                            f"got {value!r}")
    return host.strip("[]"), int(port)


def _why(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text and text[0] else type(e).__name__


class RedisEvents:
    """Events as the entries of a Redis stream (fields are the event's fields)."""

    def __init__(self, settings: dict[str, Any], timeout: float) -> None:
        host, port = _address(settings["redis"], "redis")
        self.key = str(settings.get("stream") or "")
        if not self.key:
            raise ObserverError("outcome-stream observer setting stream is required with redis")
        self.where = f"redis {host}:{port} stream {self.key}"
        self.client = redis.Redis(host=host, port=port, socket_timeout=timeout,
                                  socket_connect_timeout=timeout,
                                  retry=Retry(NoBackoff(), 0))  # one line at once, not later

    def check(self) -> None:
        """The server answers, the key is a stream (or not there yet), and its newest
        entries are outcome events."""
        kind = self._call(self.client.type, self.key)
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        if kind not in ("none", "stream"):
            raise ObserverError(f"outcome-stream observer {self.where}: the key is a {kind}, "
                                f"not a stream")
        for ident, fields in self._call(self.client.xrevrange, self.key, count=_SAMPLE):
            check_event(self.where, ident.decode(), {k.decode(): v for k, v in fields.items()})

    def read(self) -> Iterator[Event]:
        start = "-"
        while True:
            entries = self._call(self.client.xrange, self.key, min=start, count=_CHUNK)
            for ident, fields in entries:
                yield ident.decode(), {k.decode(): v for k, v in fields.items()}
            if len(entries) < _CHUNK:
                return
            ms, _, seq = entries[-1][0].decode().partition("-")
            start = f"{ms}-{int(seq) + 1}"

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except redis.ConnectionError as e:
            raise ObserverError(f"outcome-stream observer cannot reach {self.where}: "
                                f"{_why(e)}") from None
        except redis.RedisError as e:
            raise ObserverError(f"outcome-stream observer {self.where}: {_why(e)}") from None


class RabbitEvents:
    """Events as the JSON bodies of the messages in a RabbitMQ queue. The queue is read
    without acknowledging, so the broker puts every message back when the channel closes."""

    def __init__(self, settings: dict[str, Any], timeout: float) -> None:
        host, port = _address(settings["rabbitmq"], "rabbitmq")
        self.queue = str(settings.get("queue") or "")
        if not self.queue:
            raise ObserverError("outcome-stream observer setting queue is required with "
                                "rabbitmq")
        self.timeout = timeout
        vhost = str(settings.get("vhost", "/"))
        self.where = f"rabbitmq {host}:{port} queue {self.queue}"
        self.params = pika.ConnectionParameters(
            host=host, port=port, virtual_host=vhost, connection_attempts=1, retry_delay=0,
            credentials=pika.PlainCredentials(str(settings.get("user", "guest")),
                                              str(settings.get("password", "guest"))),
            socket_timeout=timeout, stack_timeout=timeout * 2, blocked_connection_timeout=timeout)
        logging.getLogger("pika").setLevel(logging.CRITICAL)  # the one-line errors say it

    def check(self) -> None:
        """The broker answers and the queue exists."""
        conn, _channel, _count = self._open()
        conn.close()

    def read(self) -> Iterator[Event]:
        conn, channel, count = self._open()
        try:
            seen = 0
            messages = channel.consume(self.queue, auto_ack=False,
                                       inactivity_timeout=self.timeout)
            while seen < count:
                method, _props, body = next(messages)
                if method is None:
                    raise ObserverError(f"outcome-stream observer {self.where}: read {seen} of "
                                        f"{count} messages, then none for {self.timeout:g}s "
                                        f"(does another consumer read this queue?)")
                seen += 1
                ident = str(seen)
                try:
                    fields = orjson.loads(body)
                except orjson.JSONDecodeError as e:
                    raise ObserverError(f"outcome-stream observer {self.where} message "
                                        f"{ident}: the body is not JSON ({e})") from None
                yield ident, fields
        except amqp_errors.AMQPError as e:
            raise ObserverError(f"outcome-stream observer {self.where}: {_why(e)}") from None
        finally:
            if conn.is_open:
                conn.close()  # nothing was acknowledged: the broker requeues every message

    def _open(self) -> tuple[Any, Any, int]:
        try:
            conn = pika.BlockingConnection(self.params)
        except (amqp_errors.AMQPError, OSError) as e:
            raise ObserverError(f"outcome-stream observer cannot reach {self.where}: "
                                f"{_why(e) if str(e) else type(e).__name__}") from None
        try:
            channel = conn.channel()
            ok = channel.queue_declare(self.queue, passive=True)
        except amqp_errors.ChannelClosedByBroker as e:
            conn.close()
            raise ObserverError(f"outcome-stream observer {self.where}: {e.reply_text}") \
                from None
        except amqp_errors.AMQPError as e:
            raise ObserverError(f"outcome-stream observer {self.where}: {_why(e)}") from None
        return conn, channel, int(ok.method.message_count)


class OutcomeStreamObserver:
    """Observer plugin (chaos.observers.base.Observer) folding the pipeline's outcome events.

    Settings: either redis (host:port) and stream, or rabbitmq (host:port) and queue (with
    user / password, default guest, and vhost, default "/"); tables (the optional tables the
    events fill: totals, handled_by); saga, effects, max_attempts, totals_scope (as the sql
    observer's); timeout (connect / read, default 10s).
    """

    description = "folds the outcome events the pipeline emits on a Redis stream or RabbitMQ queue"

    def __init__(self, settings: dict[str, Any], platform: Platform | None = None) -> None:
        unknown = set(settings) - _SETTINGS
        if unknown:
            raise ObserverError(
                f"unknown outcome-stream observer setting(s): {', '.join(sorted(unknown))}")
        if ("redis" in settings) == ("rabbitmq" in settings):
            raise ObserverError("outcome-stream observer needs exactly one of the settings "
                                "redis (with stream) or rabbitmq (with queue)")
        try:
            timeout = parse_duration(settings.get("timeout", "10s"))
        except ValueError as e:
            raise ObserverError(f"outcome-stream observer setting timeout: {e}") from None
        optional = settings.get("tables", [])
        allowed = ("totals", "handled_by")
        if not isinstance(optional, list) or not set(map(str, optional)) <= set(allowed):
            raise ObserverError(f"outcome-stream observer setting tables: a list of optional "
                                f"tables ({', '.join(allowed)}), got {optional!r}")
        required = {n for n, (_, req) in TABLES.items() if req}
        self.shape = shape("outcome-stream", settings, frozenset(required | set(optional)),
                           getattr(platform, "bug", None))
        self.events = (RedisEvents(settings, timeout) if "redis" in settings
                       else RabbitEvents(settings, timeout))

    def prepare(self) -> None:
        """Reach the server and check the stream or queue; ObserverError (one line) if not."""
        self.events.check()

    def drained(self) -> bool:
        return True  # events say nothing of what is still in flight: drain on the probes

    def observe(self, run_id: str, path: Path) -> None:
        write_document(path, self.collect(run_id))

    def collect(self, run_id: str) -> dict[str, Any]:
        """The observations.json document for `run_id` (docs/observations.md)."""
        with bulk():
            tables = fold(self.events.where, self.events.read(), run_id)
        try:
            with bulk():
                return document(self.shape, run_id, tables.__getitem__)
        except (TypeError, ValueError) as e:
            raise ObserverError(f"outcome-stream observer {self.events.where}: a value of the "
                                f"wrong type ({e})") from None
