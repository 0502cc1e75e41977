"""The files `pipechaos init` writes: a commented target for a user's own pipeline and two
starter experiments (pure: name and plugin choices in, {relative path: text} out).

The pieces follow docs/own-pipeline.md: the broker, worker and database components are
placeholders for the user's own processes, the proxies use the role names the experiment
library expects (producer-broker, consumer-{index}-broker).
"""

from __future__ import annotations

PUBLISHERS = ("redis-stream", "rabbitmq", "http")
OBSERVERS = ("sql", "http-json", "outcome-stream")

_HEAD = """\
# Target for your own pipeline, written by `pipechaos init` (publisher {publisher}, observer
# {observer}). Adapt every line marked TODO, then `pipechaos validate` this file and the two
# experiments/{name}-*.yaml; docs/own-pipeline.md walks through it. For your editor:
# `pipechaos schema target > target.schema.json`.
apiVersion: pipechaos/v1
kind: Target
metadata:
  name: {name}
  description: TODO one line about your pipeline
# local: every component runs as a process on this machine (docs/platforms.md); each gets
# its ports and resolved settings in the JSON environment variable PIPECHAOS_POD.
platform: {{type: local, settings: {{}}}}
proxy_server: embedded
components:
"""

_BROKER = {
    "redis-stream": """\
  - name: broker                                # TODO your Redis (a wrapper that starts
    labels: {app: redis, tier: broker}          # redis-server on PIPECHAOS_POD's port redis)
    command: [python, -m, mypipeline.broker]
    ports: [redis]
    ready: {tcp: redis}
""",
    "rabbitmq": """\
  - name: broker                                # TODO your RabbitMQ (AMQP and the management
    labels: {app: rabbitmq, tier: broker}       # API, which the probes read)
    command: [python, -m, mypipeline.broker]
    ports: [amqp, http]
    ready: {tcp: http, timeout: 180s}
""",
    "http": """\
  - name: broker                                # TODO your HTTP ingress, which takes the
    labels: {app: ingress, tier: broker}        # orders (POST) and queues them
    command: [python, -m, mypipeline.ingress]
    ports: [http]
    ready: {tcp: http}
""",
}
_BROKER_PORT = {"redis-stream": "redis", "rabbitmq": "amqp", "http": "http"}

_DB = {
    "sql": """\
  - name: db                                    # TODO your database, which the sql observer
    labels: {app: postgres, tier: service}      # reads after drain
    command: [python, -m, mypipeline.database]
    ports: [pg]
    ready: {tcp: pg, timeout: 120s}
""",
    "outcome-stream": """\
  - name: events                                # TODO the Redis that carries the outcome
    labels: {app: redis-events, tier: service}  # events (or reuse your broker's)
    command: [python, -m, mypipeline.events]
    ports: [redis]
    ready: {tcp: redis}
""",
}

_WORKER = """\
  - name: worker                                # TODO your consumer; pod faults pick it by
    labels: {{app: consumer, tier: worker}}       # tier: worker
    replicas: 2
    command: [python, -m, mypipeline.consumer]
    ports: [admin]
    ready: {{http: admin, path: /healthz}}        # or {{tcp: admin}}, or drop it
    settings:                                   # TODO what your consumer needs
{broker_line}      max_attempts: 5                           # deliveries before the DLQ
"""

_PROXIES = """\
# Every hop a fault may cut goes through a proxy named by its role, so the experiment
# library's network faults (proxy: producer-broker, consumer-0-broker, ...) find it.
proxies:
  - {{name: producer-broker, listen: auto, upstream: "${{component:broker/{port}}}"}}
"""
_CONSUMER_PROXIES = """\
  - {{name: consumer-0-broker, listen: auto, upstream: "${{component:broker/{port}}}"}}
  - {{name: consumer-1-broker, listen: auto, upstream: "${{component:broker/{port}}}"}}
"""

_PUBLISHER = {
    "redis-stream": """\
publisher:                    # one XADD per order (docs/load.md)
  type: redis-stream
  settings: {address: "${proxy:producer-broker}", stream: orders}
""",
    "rabbitmq": """\
publisher:                    # one confirmed, persistent publish per order
  type: rabbitmq
  settings:
    address: "${proxy:producer-broker}"
    routing_key: orders       # TODO the queue your consumers read (default exchange "")
    # exchange: ""   user: guest   password: guest   vhost: /   timeout: 2s
""",
    "http": """\
publisher:                    # one POST per order; 2xx ok, 4xx fail, 5xx info
  type: http
  settings:
    url: "http://${proxy:producer-broker}/orders"   # TODO your endpoint
    timeout: 2s
    # ok: [200-299]   fail: [400-499]   info: [500-599]   headers: {Authorization: ...}
""",
}

_OBSERVER = {
    "sql": """\
observer:                     # reads the final state with SQL after drain
  type: sql
  settings:
    url: "postgresql+psycopg://postgres@${component:db/pg}/postgres"   # TODO
    max_attempts: 5
    effects: [order.apply]    # TODO the effects your consumer applies
    queries:                  # TODO your tables; the columns are fixed (docs/own-pipeline.md)
      orders: >
        SELECT order_id, outcome, (extract(epoch FROM done_at) * 1e9)::bigint AS t_terminal,
               greatest(deliveries - 1, 0) AS redeliveries, amount AS value, qty,
               amount / 100 AS points
        FROM outcomes WHERE run_id = :run_id
      effects: >
        SELECT 'order.apply' AS effect, order_id, count(*) AS count
        FROM effects WHERE run_id = :run_id GROUP BY order_id
      dead_letters: >
        SELECT order_id, attempts, reason FROM dlq WHERE run_id = :run_id ORDER BY id
""",
    "http-json": """\
observer:                     # GETs url?run_id=RUN after drain: a JSON object of tables
  type: http-json
  settings:
    url: "http://${component:worker/admin}/chaos/state"   # TODO your state endpoint
    max_attempts: 5
    effects: [order.apply]    # TODO the effects your consumer applies
    # tables: [totals, handled_by, drained]   (the optional tables it returns)
""",
    "outcome-stream": """\
observer:                     # folds the outcome events your consumer emits
  type: outcome-stream
  settings:
    {source}
    max_attempts: 5
    effects: [order.apply]    # TODO the effects your consumer applies
""",
}
_SOURCE = {
    "redis-stream": 'redis: "${component:broker/redis}"   # TODO\n    stream: outcomes',
    "rabbitmq": 'rabbitmq: "${component:broker/amqp}"   # TODO\n    queue: outcomes',
    "http": 'redis: "${component:events/redis}"   # TODO\n    stream: outcomes',
}

_PROBES = {
    "redis-stream": """\
probes:                       # lag, pending, dlq_length for steady state and aborts
  type: redis-stream
  settings: {redis: "${component:broker/redis}", stream: orders, group: workers, dlq: orders:dlq}
""",
    "rabbitmq": """\
probes:                       # lag = ready, pending = unacked, from the management API
  type: rabbitmq
  settings: {management: "http://${component:broker/http}", queue: orders, dlq: orders.dlq}
""",
    "http": "",  # no broker probes: the experiments use pods_ready only
}

_EXPERIMENT = """\
# Written by `pipechaos init`: {why}
# Run it with `pipechaos run {path}`.
apiVersion: pipechaos/v1
kind: Experiment
metadata:
  name: {name}
  description: >
    {description}
  tags: [starter]
target: {target}
load: {{rate: 50/s, duration: 15s}}       # TODO your pipeline's usual rate
steady_state:
  - {{probe: pods_ready, min: all}}
{lag}faults:
  - {fault}
invariants:
  - delivery                    # every order the broker acknowledged reaches an outcome
  - effects                     # no effect applied twice
  - {{check: recovery, within: 30s}}
timing: {{drain_timeout: 60s}}
"""


def files(name: str, publisher: str, observer: str) -> dict[str, str]:
    """{relative path: text} of the target and its two starter experiments."""
    broker_line = ("" if publisher == "http" else
                   '      broker: "${proxy:consumer-{index}-broker}"   # its own proxy\n')
    port = _BROKER_PORT[publisher]
    target = _HEAD.format(name=name, publisher=publisher, observer=observer)
    target += _BROKER[publisher] + _WORKER.format(broker_line=broker_line)
    if observer == "sql" or (observer == "outcome-stream" and publisher == "http"):
        target += _DB[observer]
    target += _PROXIES.format(port=port)
    if publisher != "http":
        target += _CONSUMER_PROXIES.format(port=port)
    target += _PUBLISHER[publisher]
    target += _OBSERVER[observer].replace("{source}", _SOURCE[publisher])
    target += _PROBES[publisher] + "bug: null\n"
    lag = "" if publisher == "http" else "  - {probe: lag, max: 100}\n"
    kill = f"experiments/{name}-worker-kill.yaml"
    cut = f"experiments/{name}-partition.yaml"
    proxy = "producer-broker" if publisher == "http" else "consumer-0-broker"
    return {
        f"targets/{name}.yaml": target,
        kill: _EXPERIMENT.format(
            why="one worker is killed under load.", path=kill, name=f"{name}-worker-kill",
            description="Kill one worker (SIGKILL) under load: its unacknowledged orders\n"
                        "    must reach the others, and none may be applied twice.",
            target=name, lag=lag,
            fault="{type: pod.kill, at: 5s, selector: {tier: worker}, mode: one, signal: KILL}"),
        cut: _EXPERIMENT.format(
            why=f"the {proxy} hop is cut for 6 s.", path=cut, name=f"{name}-partition",
            description=f"Blackhole the {proxy} hop for 6 s under load: what the broker\n"
                        f"    acknowledged must still be processed once.",
            target=name, lag=lag,
            fault=f"{{type: network.partition, at: 4s, duration: 6s, proxy: {proxy}, "
                  f"direction: both, mode: blackhole}}"),
    }
