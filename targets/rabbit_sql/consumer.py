"""The rabbit-sql consumer: the seed document's RabbitMQ consumer (sections 3.1 and 4.2).

- Manual ACK with `basic_qos(prefetch)`: a message is acknowledged only after its effects,
  their idempotency records and its outcome are committed in one PostgreSQL transaction.
- A redelivered message (the broker requeues what a dead or silent consumer held: a crash,
  a cut connection, missed heartbeats) finds its business keys taken and applies nothing.
- A message that fails (a poison payload) is republished to the TTL retry queue with its
  `x-retry-count` header incremented and acknowledged; the queue's DLX brings it back after
  the TTL. On attempt `max_attempts` it goes to the DLQ instead, recorded with its reason.
- Infrastructure errors (broker or database lost) are not the message's fault: the consumer
  drops both connections, so the broker requeues what it held, and reconnects.

Known-bad variants (the target's `bug:` or PIPECHAOS_REF_BUG): `ack-before-commit` (ACK on
receipt), `no-unique-key` (schema.py), `no-dlx` (topology.py), `no-heartbeat` (AMQP
heartbeats off: the broker never notices a frozen consumer and keeps its messages).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

import pika
import psycopg
from pika import exceptions as amqp_errors

from targets.rabbit_sql.admin import Admin, serve
from targets.rabbit_sql.pod import Pod, die, load, seconds
from targets.rabbit_sql.store import Order, Store
from targets.rabbit_sql.topology import REASON_HEADER, RETRY_HEADER, Names, declare, ready

STATUS_EVERY_S = 0.5


class Poison(Exception):
    """The message itself cannot be processed; its text is the dead-letter reason."""


def parse(body: bytes) -> Order:
    """The order a payload asks for, or Poison naming what is wrong with it."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Poison("payload is not valid JSON") from None
    if not isinstance(doc, dict):
        raise Poison("payload is not a JSON object")
    amount, qty = doc.get("amount"), doc.get("qty")
    for name, value in (("amount", amount), ("qty", qty)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise Poison(f"payload field {name} is not a non-negative integer")
    assert isinstance(amount, int) and isinstance(qty, int)
    return Order(value=amount, qty=qty, points=amount // 100)


@dataclass(frozen=True)
class Config:
    amqp: str
    db: str
    names: Names
    prefetch: int
    max_attempts: int
    retry_delay_ms: int
    heartbeat_s: int
    idle_tx_timeout_s: float

    @classmethod
    def of(cls, pod: Pod) -> Config:
        s = pod.settings
        for key in ("amqp", "db"):
            if not isinstance(s.get(key), str) or ":" not in s[key]:
                die(f"consumer setting {key} must be host:port, got {s.get(key)!r}")
        heartbeat = int(seconds(s.get("heartbeat"), 2.0, "heartbeat"))
        return cls(
            amqp=s["amqp"], db=s["db"], names=Names(str(s.get("queue", "orders"))),
            prefetch=int(s.get("prefetch", 10)), max_attempts=int(s.get("max_attempts", 3)),
            retry_delay_ms=int(seconds(s.get("retry_delay"), 0.2, "retry_delay") * 1000),
            heartbeat_s=0 if pod.bug == "no-heartbeat" else heartbeat,
            idle_tx_timeout_s=seconds(s.get("idle_tx_timeout"), 3.0, "idle_tx_timeout"),
        )


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


class Consumer:
    def __init__(self, cfg: Config, store: Store, admin: Admin, bug: str | None) -> None:
        self.cfg, self.store, self.admin, self.bug = cfg, store, admin, bug
        host, _, port = cfg.amqp.rpartition(":")
        self.params = pika.ConnectionParameters(
            host=host, port=int(port), heartbeat=cfg.heartbeat_s, socket_timeout=3,
            stack_timeout=6, blocked_connection_timeout=10, connection_attempts=1)
        self.conn: Any = None
        self._status_at = 0.0

    def forever(self) -> None:
        while True:
            try:
                self.session()
            except (amqp_errors.AMQPError, OSError, psycopg.Error) as e:
                self.admin.ready = False
                self.admin.count("reconnects")
                log(f"lost {'database' if isinstance(e, psycopg.Error) else 'broker'}: "
                    f"{type(e).__name__}: {e}; reconnecting")
                self.close()
                if isinstance(e, psycopg.Error):
                    self.store.drop()
                self.report(connected=False, waiting=0)
                time.sleep(0.5)

    def session(self) -> None:
        """Connect, declare, consume until something breaks (raises)."""
        self.conn = pika.BlockingConnection(self.params)
        channel = self.conn.channel()
        channel.confirm_delivery()
        declare(channel, self.cfg.names, self.cfg.retry_delay_ms, self.bug)
        channel.basic_qos(prefetch_count=self.cfg.prefetch)
        channel.basic_consume(self.cfg.names.queue, self.on_message, auto_ack=False)
        self.store.connect()
        self.admin.ready = True
        log(f"consuming {self.cfg.names.queue} (prefetch {self.cfg.prefetch}, heartbeat "
            f"{self.cfg.heartbeat_s}s)")
        while True:
            self.conn.process_data_events(time_limit=STATUS_EVERY_S)
            if time.monotonic() - self._status_at >= STATUS_EVERY_S:
                self.report(connected=True, waiting=ready(channel, self.cfg.names))

    def report(self, connected: bool, waiting: int) -> None:
        self._status_at = time.monotonic()
        try:
            self.store.status(connected, waiting)
        except psycopg.Error as e:
            if connected:
                raise
            log(f"cannot record status: {type(e).__name__}: {e}")
            self.store.drop()

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # broken: the broker requeues what we held
                conn.close()

    def on_message(self, channel: Any, method: Any, props: Any, body: bytes) -> None:
        headers = dict(props.headers or {})
        order_id, run_id = headers.get("order_id"), headers.get("run_id")
        if isinstance(run_id, bytes):
            run_id = run_id.decode(errors="replace")
        if not isinstance(order_id, int) or not isinstance(run_id, str) or not run_id:
            log(f"message without order_id/run_id headers: rejected to the DLX ({headers})")
            channel.basic_reject(method.delivery_tag, requeue=False)
            return
        attempt = int(headers.get(RETRY_HEADER) or 0) + 1
        self.admin.count("deliveries")
        self.admin.count("redelivered", int(bool(method.redelivered)))
        self.store.log_delivery(run_id, order_id, bool(method.redelivered), attempt)
        if self.bug == "ack-before-commit":
            channel.basic_ack(method.delivery_tag)
        self.admin.at("before-effects", order_id)
        try:
            order = parse(body)
        except Poison as e:
            self.failed(channel, props, body, run_id, order_id, attempt, str(e))
        else:
            applied = self.store.apply(run_id, order_id, order)
            self.admin.count("applied" if applied else "duplicates")
        self.admin.at("after-effects-before-ack", order_id)
        if self.bug != "ack-before-commit":
            channel.basic_ack(method.delivery_tag)
        self.admin.at("after-ack", order_id)

    def failed(self, channel: Any, props: Any, body: bytes, run_id: str, order_id: int,
               attempt: int, reason: str) -> None:
        """Retry through the TTL queue, or dead-letter on the last attempt (before the ACK)."""
        names = self.cfg.names
        headers = {**(props.headers or {}), RETRY_HEADER: attempt}
        if attempt >= self.cfg.max_attempts:
            self.store.dead_letter(run_id, order_id, attempt, reason)
            exchange, key = names.dlx, names.dlq
            headers[REASON_HEADER] = reason
            self.admin.count("dead_lettered")
        else:
            exchange, key = "", names.retry
            self.admin.count("retried")
        copy = pika.BasicProperties(delivery_mode=2, message_id=props.message_id,
                                    content_type=props.content_type, headers=headers)
        channel.basic_publish(exchange, key, body, copy, mandatory=True)


def main() -> None:
    pod = load()
    cfg = Config.of(pod)
    admin = Admin(pod.name)
    serve(admin, pod.port("admin"))
    store = Store(cfg.db, pod.name, pod.bug, cfg.idle_tx_timeout_s)
    while True:  # the database may still be starting (or restarting)
        try:
            store.create_schema()
            break
        except psycopg.Error as e:
            log(f"database not ready: {type(e).__name__}: {e}")
            store.drop()
            time.sleep(0.5)
    Consumer(cfg, store, admin, pod.bug).forever()


if __name__ == "__main__":
    main()
