"""The broker probes (lag, pending, dlq_length, completion_rate) for the backend the target
chooses with `probes.type`: `redis-stream` (chaos/probes/redis_stream.py, the default) or
`rabbitmq` (chaos/probes/rabbitmq.py, the management HTTP API). Experiments name the probe
only, so one experiment runs against either kind of pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chaos.probes import redis_stream
from chaos.probes.base import ProbeEnv

_RABBIT_PARAMS = (
    {"name": "management", "type": "url", "default": None, "required": True,
     "description": "the management API (with probes.type rabbitmq)"},
    {"name": "queue", "type": "str|list", "default": "orders", "required": False,
     "description": "the work queue(s) (with probes.type rabbitmq)"},
)


@dataclass
class BrokerProbe:
    backend: Any  # the redis-stream probe of the same name
    rabbit: bool = True  # whether RabbitMQ has this measurement

    @property
    def name(self) -> str:
        return str(self.backend.name)

    @property
    def description(self) -> str:
        return str(self.backend.description)

    @property
    def params(self) -> tuple[dict[str, Any], ...]:
        return tuple(self.backend.params) + (_RABBIT_PARAMS if self.rabbit else ())

    def measure(self, env: ProbeEnv) -> float:
        if env.target.probes.type == "rabbitmq":
            from chaos.probes import rabbitmq

            return rabbitmq.measure(self.name, env)
        return float(self.backend.measure(env))


LAG = BrokerProbe(redis_stream.LAG)
PENDING = BrokerProbe(redis_stream.PENDING)
DLQ_LENGTH = BrokerProbe(redis_stream.DLQ_LENGTH)
COMPLETION_RATE = BrokerProbe(redis_stream.COMPLETION_RATE, rabbit=False)
