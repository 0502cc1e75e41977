"""`kafka` publisher: one record per order through an idempotent producer with acks=all.

confluent-kafka (librdkafka) sends from its own threads; publish() hands the record over and
waits for its delivery report by polling with short sleeps, which under Locust's gevent are
cooperative, so the other publishes go on. Classification follows what the broker may hold:
`ok` on a delivery report without error; `fail` when the record never left the process (the
local queue is full, the record is too large for the producer) or the broker refused it with
a non-retriable error (unknown topic, authorization, record too large); `info` for anything
else, above all no report within `timeout` or a delivery timeout (librdkafka does not tell
Python whether such a record was persisted). One producer per publisher, kept open.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from chaos.publishers.base import PublishResult, seconds_setting

_SETTINGS = {"bootstrap", "topic", "timeout", "config"}
_OK = PublishResult("ok")
# broker answers that say the record was not written (the others may hide a written record)
_REFUSED = {
    KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC, KafkaError._UNKNOWN_PARTITION,
    KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_RECORD,
    KafkaError.INVALID_MSG, KafkaError.RECORD_LIST_TOO_LARGE, KafkaError.POLICY_VIOLATION,
}
_POLL_S = 0.002


class KafkaPublisher:
    """Publisher plugin (chaos.publishers.base.Publisher) for Kafka-protocol brokers.

    Settings: bootstrap (host:port[,host:port...], required), topic (default "orders"),
    timeout (delivery wait, default 5s; also librdkafka's delivery.timeout.ms), config
    (extra librdkafka properties, e.g. security settings; acks and enable.idempotence are
    fixed). Each record's key is the order id; its headers are order_id and run_id and
    message_id "RUN_ID:ORDER_ID"; the value is the order payload.
    """

    description = "one record per order, idempotent producer with acks=all; ok on delivery"

    def __init__(self, settings: dict[str, Any], run_id: str) -> None:
        unknown = set(settings) - _SETTINGS
        if unknown:
            raise ValueError(f"unknown kafka setting(s): {', '.join(sorted(unknown))}")
        bootstrap = settings.get("bootstrap")
        hosts = str(bootstrap or "").split(",")
        if not bootstrap or not all(h.rpartition(":")[2].isdigit() and h.rpartition(":")[0]
                                    for h in hosts):
            raise ValueError(f"kafka setting bootstrap must be host:port[,host:port...], "
                             f"got {bootstrap!r}")
        self.timeout = seconds_setting(settings, "timeout", 5.0, "kafka")
        extra = settings.get("config", {})
        if not isinstance(extra, dict):
            raise ValueError("kafka setting config must be a mapping of librdkafka properties")
        fixed = {"acks", "enable.idempotence", "bootstrap.servers"} & set(extra)
        if fixed:
            raise ValueError(f"kafka setting config may not set {', '.join(sorted(fixed))}")
        self.topic = str(settings.get("topic", "orders"))
        self.run_id = run_id
        logging.getLogger("confluent_kafka").setLevel(logging.CRITICAL)
        try:
            self.producer = Producer({
                **{str(k): v for k, v in extra.items()},
                "bootstrap.servers": str(bootstrap), "acks": "all",
                "enable.idempotence": True, "linger.ms": 0,
                "delivery.timeout.ms": int(self.timeout * 1000),
                "logger": logging.getLogger("confluent_kafka"),
            })
        except KafkaException as e:
            raise ValueError(f"kafka setting config: {e.args[0].str()}") from None

    def publish(self, order_id: int, payload: bytes) -> PublishResult:
        report: list[KafkaError | None] = []
        try:
            self.producer.produce(
                self.topic, value=payload, key=str(order_id).encode(),
                headers={"order_id": str(order_id), "run_id": self.run_id,
                         "message_id": f"{self.run_id}:{order_id}"},
                on_delivery=lambda err, _msg: report.append(err))
        except BufferError:  # the local queue is full: nothing was sent
            return PublishResult("fail", "BufferError")
        except KafkaException as e:  # refused before sending (e.g. too large)
            return PublishResult("fail", e.args[0].name())
        deadline = time.monotonic() + self.timeout
        while not report:
            self.producer.poll(0)
            if report or time.monotonic() > deadline:
                break
            time.sleep(_POLL_S)  # cooperative under gevent
        if not report:
            return PublishResult("info", "DeliveryTimeout")
        err = report[0]
        if err is None:
            return _OK
        return PublishResult("fail" if err.code() in _REFUSED else "info", err.name())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.producer.flush(self.timeout)
