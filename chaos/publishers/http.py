"""`http` publisher: one JSON POST per order, classified ok / fail / info by what happened.

Classification follows what the server may have taken: by default a 2xx answer is `ok`, a 4xx
answer `fail` (the server refused the order), a 5xx answer `info` (it may have acted before
failing); cannot connect is `fail` (nothing was sent), a timeout or a connection lost after
sending is `info`. The status classes are settings. httpx's sync client fits the Locust
processes: its sockets are the standard library's, which gevent patches, so a publish waiting
for its answer yields to the others. httpx never retries a request that was sent (its
transport retries only connects, and those are off), so no silent duplicate POST happens.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx

from chaos.publishers.base import Outcome, PublishResult, seconds_setting

_SETTINGS = {"url", "headers", "timeout", "connect_timeout", "ok", "fail", "info", "ca_file",
             "idle"}
_CLASSES: tuple[Outcome, ...] = ("ok", "fail", "info")
_DEFAULTS = {"ok": ["200-299"], "fail": ["400-499"], "info": ["500-599"]}
_OK = PublishResult("ok")


def _statuses(key: str, value: Any) -> set[int]:
    """`[200-299, 304]` (or one such item) -> the set of status codes it names."""
    items = value if isinstance(value, list) else [value]
    out: set[int] = set()
    for item in items:
        low, _, high = str(item).partition("-") if not isinstance(item, bool) else ("", "", "")
        low, high = low.strip(), (high or low).strip()
        if not (low.isdigit() and high.isdigit() and 100 <= int(low) <= int(high) <= 599):
            raise ValueError(f"http setting {key}: {item!r} is not a status code (100-599) "
                             f"or a range like 200-299")
        out.update(range(int(low), int(high) + 1))
    return out


def status_classes(settings: dict[str, Any]) -> dict[int, Outcome]:
    """Status code -> outcome from the ok / fail / info settings; a code in two is an error."""
    table: dict[int, Outcome] = {}
    for outcome in _CLASSES:
        for code in sorted(_statuses(outcome, settings.get(outcome, _DEFAULTS[outcome]))):
            if code in table:
                raise ValueError(f"http settings {table[code]} and {outcome} both name "
                                 f"status {code}")
            table[code] = outcome
    return table


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"http setting headers must be a mapping of names to values, "
                         f"got {value!r}")
    return {k: str(v) for k, v in value.items()}


class HttpPublisher:
    """Publisher plugin (chaos.publishers.base.Publisher) POSTing each order to one URL.

    Settings: url (http:// or https://, required), headers (added to every request),
    timeout (per connect / read / write, default 2s), connect_timeout (default = timeout),
    ok / fail / info (status codes or ranges; defaults 200-299 / 400-499 / 500-599; any other
    status is info), ca_file (PEM CA bundle for https; default the system's), idle
    (connections kept open for reuse, default 32). Each request carries the payload as its
    body (Content-Type application/json) and headers X-Order-Id, X-Run-Id and
    Idempotency-Key "RUN_ID:ORDER_ID".
    """

    description = "one JSON POST per order; by default ok on 2xx, fail on 4xx, info on 5xx"

    def __init__(self, settings: dict[str, Any], run_id: str) -> None:
        unknown = set(settings) - _SETTINGS
        if unknown:
            raise ValueError(f"unknown http setting(s): {', '.join(sorted(unknown))}")
        url = settings.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"http setting url must be an http:// or https:// URL, got {url!r}")
        self.url: str = str(url)
        self.classes = status_classes(settings)
        self.headers = _headers(settings.get("headers", {}))
        self.timeout = seconds_setting(settings, "timeout", 2.0, "http")
        connect_timeout = seconds_setting(settings, "connect_timeout", self.timeout, "http")
        idle = settings.get("idle", 32)
        if not isinstance(idle, int) or isinstance(idle, bool) or idle < 0:
            raise ValueError(f"http setting idle must be an integer >= 0, got {idle!r}")
        verify: ssl.SSLContext | bool = True
        ca_file = settings.get("ca_file")
        if ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as e:
                raise ValueError(f"http setting ca_file {ca_file!r}: "
                                 f"{getattr(e, 'strerror', None) or e}") from None
        self.run_id = run_id
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=idle)
        self.client = httpx.Client(
            timeout=httpx.Timeout(self.timeout, connect=connect_timeout),
            follow_redirects=False, trust_env=False,
            transport=httpx.HTTPTransport(verify=verify, retries=0, limits=limits),
        )

    def publish(self, order_id: int, payload: bytes) -> PublishResult:
        headers = {**self.headers, "Content-Type": "application/json",
                   "X-Order-Id": str(order_id), "X-Run-Id": self.run_id,
                   "Idempotency-Key": f"{self.run_id}:{order_id}"}
        try:
            response = self.client.post(self.url, content=payload, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as e:
            return PublishResult("fail", _error_name(e))  # nothing of the request was sent
        except Exception as e:  # the request may have reached the server
            return PublishResult("info", _error_name(e))
        outcome = self.classes.get(response.status_code, "info")
        if outcome == "ok":
            return _OK
        return PublishResult(outcome, f"HTTP {response.status_code}")

    def close(self) -> None:
        self.client.close()


def _error_name(e: BaseException) -> str:
    """The most telling class name: httpx's for timeouts, else the OS error under its wrappers."""
    if isinstance(e, httpx.TimeoutException):
        return type(e).__name__
    seen: list[BaseException] = [e]
    for each in seen:  # breadth-first through cause and context
        if isinstance(each, OSError) and type(each) is not OSError:
            return type(each).__name__
        inner = [each.__cause__, each.__context__]
        seen += [x for x in inner if isinstance(x, BaseException) and x not in seen]
        if len(seen) > 16:
            break
    return type(e).__name__
