"""The `rabbitmq` publisher inside the real Locust load processes (gevent): every offered
order is confirmed and lands in the queue exactly once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pika

from chaos.platforms.local import LocalPlatform
from tests.load.window import load_through


def test_locust_load_through_the_rabbitmq_publisher(
    servers: LocalPlatform, tmp_path: Path,
) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    host, port = servers.resolve("${component:broker/amqp}").rsplit(":", 1)
    conn = pika.BlockingConnection(pika.ConnectionParameters(host, int(port)))
    conn.channel().queue_declare(queue, durable=True)
    _, stats = load_through("rabbitmq", {"address": servers.resolve("${proxy:producer-broker}"),
                                         "routing_key": queue}, tmp_path / "run", "100/s", 3)
    assert stats["offered"] == 300
    assert stats["counts"]["ok"] == 300, stats["counts"]
    # the achieved/offered rate is a benchmark's business (benchmarks/), not this test's
    api = f"http://{servers.resolve('${component:broker/http}')}/api/queues/%2F/{queue}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the management counts refresh every 500 ms
        if httpx.get(api, auth=("guest", "guest"), timeout=5).json().get("messages") == 300:
            break
        time.sleep(0.2)
    channel = conn.channel()
    ids = []
    while (got := channel.basic_get(queue, auto_ack=True))[0] is not None:
        ids.append(got[1].headers["order_id"])
    channel.queue_delete(queue)
    conn.close()
    assert sorted(ids) == list(range(300))
