"""`redis-stream` publisher: one XADD per order, classified ok / fail / info.

Classification follows what the broker may have seen: `fail` only when nothing of the XADD
left this process (cannot connect) or Redis answered with an error; `info` for anything after
the command may have been written (timeout, reset, EOF).  No retries happen inside redis-py
(a silent retry would hide a duplicate publish), and a connection that failed is dropped, so
the next publish starts on a fresh one.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from redis import connection as _connection
from redis.backoff import NoBackoff
from redis.retry import Retry

from chaos.publishers.base import PublishResult, seconds_setting
from chaos.publishers.redis_primary import NoPrimary, primary

_SETTINGS = {"address", "stream", "maxlen", "timeout", "connect_timeout", "idle", "password",
             "sentinel", "wait_replicas", "wait_timeout"}
_OK = PublishResult("ok")
Connection: Any = _connection.Connection  # redis-py's Connection is untyped




class RedisStreamPublisher:
    """Publisher plugin (chaos.publishers.base.Publisher) writing to one Redis stream.

    Settings: address (host:port, required), stream (default "orders"), maxlen (approximate
    trim, default none), timeout (default 1s), connect_timeout (default = timeout),
    idle (connections kept open for reuse, default 64), password.
    HA brokers: `sentinel` ({master, nodes, proxies}: redis_primary.py) instead of address;
    `wait_replicas` (default 0) makes an XADD `ok` only once `WAIT <n> <wait_timeout>`
    confirms n replicas have it (`wait_timeout` default 500ms, below `timeout`); fewer
    is `info`: the entry is on the primary but a failover may still take it back.
    """

    description = "one XADD per order to a Redis stream; each publish is ok, fail or info"

    def __init__(self, settings: dict[str, Any], run_id: str) -> None:
        unknown = set(settings) - _SETTINGS
        if unknown:
            raise ValueError(f"unknown redis-stream setting(s): {', '.join(sorted(unknown))}")
        self.stream = str(settings.get("stream", "orders"))
        maxlen = settings.get("maxlen")
        if maxlen is not None and (not isinstance(maxlen, int) or maxlen < 1):
            raise ValueError(f"redis-stream setting maxlen must be an integer >= 1, got {maxlen}")
        self.maxlen: int | None = maxlen
        self.timeout = seconds_setting(settings, "timeout", 1.0, "redis-stream")
        self.connect_timeout = seconds_setting(
            settings, "connect_timeout", self.timeout, "redis-stream"
        )
        self.primary = primary(settings, self.connect_timeout)
        self.wait_replicas = settings.get("wait_replicas", 0)
        if not isinstance(self.wait_replicas, int) or self.wait_replicas < 0:
            raise ValueError("redis-stream setting wait_replicas must be an integer >= 0, "
                             f"got {self.wait_replicas!r}")
        self.wait_timeout = seconds_setting(settings, "wait_timeout", 0.5, "redis-stream")
        if self.wait_replicas and self.wait_timeout >= self.timeout:
            raise ValueError("redis-stream setting wait_timeout must be below timeout "
                             f"({self.wait_timeout:g}s >= {self.timeout:g}s)")
        self.idle = int(settings.get("idle", 64))
        self.password: str | None = settings.get("password")
        self.run_id = run_id
        self._pool: list[Any] = []

    def publish(self, order_id: int, payload: bytes) -> PublishResult:
        try:
            conn = self._pool.pop() if self._pool else self._new()
        except NoPrimary as e:  # no primary to send to: nothing sent
            return PublishResult("fail", str(e))
        try:
            conn.connect()  # no-op when already connected
        except Exception as e:  # nothing of the XADD was sent
            conn.disconnect()
            return PublishResult("fail", _error_name(e))
        args: list[Any] = [self.stream]
        if self.maxlen is not None:
            args += ["MAXLEN", "~", self.maxlen]
        args += ["*", "order_id", order_id, "run_id", self.run_id, "payload", payload]
        args += ["ts", time.time_ns()]
        try:
            conn.send_command("XADD", *args)
            conn.read_response()
        except redis.ReadOnlyError as e:  # a demoted primary: not enqueued, ask again
            conn.disconnect()
            return PublishResult("fail", _error_name(e))
        except redis.ResponseError as e:  # Redis refused the command: not enqueued
            self._keep(conn)
            return PublishResult("fail", _error_name(e))
        except Exception as e:  # the command may have reached Redis
            conn.disconnect()
            return PublishResult("info", _error_name(e))
        if self.wait_replicas:
            return self._replicated(conn)
        self._keep(conn)
        return _OK

    def _replicated(self, conn: Any) -> PublishResult:
        """WAIT for the replicas: enqueued on the primary either way, so never `fail`."""
        try:
            conn.send_command("WAIT", self.wait_replicas, int(self.wait_timeout * 1000))
            acked = int(conn.read_response())
        except Exception as e:
            conn.disconnect()
            return PublishResult("info", _error_name(e))
        self._keep(conn)
        if acked < self.wait_replicas:
            return PublishResult("info", "WaitTimeout")
        return _OK

    def close(self) -> None:
        while self._pool:
            self._pool.pop().disconnect()

    def _new(self) -> Any:
        host, port = self.primary()  # NoPrimary when Sentinel names none we may dial
        return Connection(
            host=host,
            port=port,
            password=self.password,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.connect_timeout,
            retry_on_timeout=False,
            retry=Retry(NoBackoff(), 0),
            protocol=2,  # RESP2: no HELLO round trip, so connecting is the TCP handshake only
            driver_info=None,  # and no CLIENT SETINFO either
        )

    def _keep(self, conn: Any) -> None:
        if len(self._pool) < self.idle:
            self._pool.append(conn)
        else:
            conn.disconnect()


def _error_name(e: BaseException) -> str:
    """The most telling class name: the OS error under redis-py's wrapper when there is one."""
    cause = e.__cause__ or e.__context__
    if isinstance(cause, OSError) and type(cause) is not OSError:
        return type(cause).__name__
    return type(e).__name__
