"""The broker side of the seed document's section 4.2: work queue, TTL retry queue, DLX, DLQ.

    publisher --(default exchange)--> orders --consumer--> ack
                                        ^        | failed, attempt < N: republish with
                                        |        v x-retry-count, then ack
          orders.dlx (direct) <--TTL-- orders.retry
                |
                +--> orders.dlq  <-- consumer, attempt N (x-retry-count, x-death-reason);
                                     also whatever `orders` rejects (the safety net)

Every queue is durable and the messages persistent, so a broker restart keeps them. The
retry count travels in the message's own header, written by the consumer (the seed: "由业务端
在header中记录重试次数"), not in the broker's x-death bookkeeping.

Known-bad variant `no-dlx`: the queues are declared without a dead-letter exchange, so a
retry whose TTL expires is dropped instead of coming back: poison never reaches the DLQ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RETRY_HEADER = "x-retry-count"
REASON_HEADER = "x-death-reason"


@dataclass(frozen=True)
class Names:
    queue: str

    @property
    def retry(self) -> str:
        return f"{self.queue}.retry"

    @property
    def dlq(self) -> str:
        return f"{self.queue}.dlq"

    @property
    def dlx(self) -> str:
        return f"{self.queue}.dlx"


def declare(channel: Any, names: Names, retry_delay_ms: int, bug: str | None) -> None:
    """Declare (idempotently) the exchanges, queues and bindings on a pika channel."""
    if bug == "no-dlx":
        channel.queue_declare(names.queue, durable=True)
        channel.queue_declare(names.retry, durable=True,
                              arguments={"x-message-ttl": retry_delay_ms})
        channel.queue_declare(names.dlq, durable=True)
        return
    channel.exchange_declare(names.dlx, exchange_type="direct", durable=True)
    channel.queue_declare(names.queue, durable=True, arguments={
        "x-dead-letter-exchange": names.dlx, "x-dead-letter-routing-key": names.dlq})
    channel.queue_declare(names.retry, durable=True, arguments={
        "x-message-ttl": retry_delay_ms,
        "x-dead-letter-exchange": names.dlx, "x-dead-letter-routing-key": names.queue})
    channel.queue_declare(names.dlq, durable=True)
    channel.queue_bind(names.queue, names.dlx, routing_key=names.queue)
    channel.queue_bind(names.dlq, names.dlx, routing_key=names.dlq)


def ready(channel: Any, names: Names) -> int:
    """Messages waiting in the work and retry queues (passive declares: ready, not unacked)."""
    return sum(int(channel.queue_declare(q, passive=True).method.message_count)
               for q in (names.queue, names.retry))
