"""The broker probes with `probes: {type: rabbitmq}` against a real RabbitMQ: lag is the
queue's ready count and pending its unacknowledged count, from the management HTTP API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pika
import pytest

from chaos import registry
from chaos.platforms.local import LocalPlatform
from chaos.platforms.ports import free_port
from chaos.probes.base import ProbeEnv, ProbeError
from chaos.spec.models import TargetSpec
from chaos.spec.structs import decode


def env(platform: Any, **settings: Any) -> ProbeEnv:
    spec = decode(TargetSpec, {"apiVersion": "pipechaos/v1", "kind": "Target",
                               "metadata": {"name": "t"},
                               "probes": {"type": "rabbitmq", "settings": settings}})
    return ProbeEnv(spec, platform, settings)


def eventually(read: Callable[[], float], want: float, within_s: float = 10.0) -> float:
    """The broker refreshes its counts every 500 ms: poll until `want` or time is up."""
    deadline = time.monotonic() + within_s
    value = read()
    while value != want and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


def test_lag_pending_and_dlq_length_from_the_management_api(servers: LocalPlatform) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    e = env(servers, management=f"http://{servers.resolve('${component:broker/http}')}",
            queue=queue)
    lag, pending, dlq = (registry.probes.get(n) for n in ("lag", "pending", "dlq_length"))
    assert lag.measure(e) == 0  # a queue not declared yet is empty
    host, port = servers.resolve("${component:broker/amqp}").rsplit(":", 1)
    conn = pika.BlockingConnection(pika.ConnectionParameters(host, int(port)))
    channel = conn.channel()
    try:
        channel.queue_declare(queue)
        channel.queue_declare(f"{queue}.dlq")
        for i in range(3):
            channel.basic_publish("", queue, b"x%d" % i)
        channel.basic_publish("", f"{queue}.dlq", b"dead")
        assert eventually(lambda: lag.measure(e), 3) == 3
        assert pending.measure(e) == 0
        channel.basic_qos(prefetch_count=1)
        channel.basic_consume(queue, lambda *_: None)  # takes one, never acks
        assert eventually(lambda: pending.measure(e), 1) == 1
        assert eventually(lambda: lag.measure(e), 2) == 2
        assert eventually(lambda: dlq.measure(e), 1) == 1
    finally:
        channel.queue_delete(queue)
        channel.queue_delete(f"{queue}.dlq")
        conn.close()


def test_redis_only_probe_and_bad_settings_are_probe_errors(servers: LocalPlatform) -> None:
    rate = registry.probes.get("completion_rate")
    good = f"http://{servers.resolve('${component:broker/http}')}"
    with pytest.raises(ProbeError, match=r"not available with probes\.type rabbitmq"):
        rate.measure(env(servers, management=good))
    with pytest.raises(ProbeError, match="management must be an http"):
        registry.probes.get("lag").measure(env(servers, management="nowhere"))
    with pytest.raises(ProbeError, match="ConnectError"):
        registry.probes.get("lag").measure(env(servers,
                                               management=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(ProbeError, match="HTTP 401"):
        registry.probes.get("lag").measure(env(servers, management=good, password="wrong"))
