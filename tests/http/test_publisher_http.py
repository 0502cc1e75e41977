"""The `http` publisher against a real HTTP server: 2xx -> ok, 4xx / refused -> fail,
5xx / timeout / connection closed after the request was read -> info; all configurable."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from chaos.platforms.ports import free_port
from chaos.publishers.http import HttpPublisher
from chaos.registry import publishers

from .server import HttpServer, tls_server


def publisher(url: str, **extra: object) -> HttpPublisher:
    return HttpPublisher({"url": url, "timeout": "1s", **extra}, run_id="run-1")


def test_is_registered() -> None:
    assert publishers.get("http") is HttpPublisher


def test_default_mapping_by_status(server: HttpServer) -> None:
    codes = {1: 200, 2: 204, 3: 400, 4: 409, 5: 500, 6: 503, 7: 302}
    server.plan = lambda order_id: codes[order_id]
    pub = publisher(f"{server.url}/orders")
    try:
        got = {i: pub.publish(i, orjson.dumps({"sku": "a"})) for i in codes}
    finally:
        pub.close()
    assert {i: (r.outcome, r.error) for i, r in got.items()} == {
        1: ("ok", None), 2: ("ok", None), 3: ("fail", "HTTP 400"), 4: ("fail", "HTTP 409"),
        5: ("info", "HTTP 500"), 6: ("info", "HTTP 503"),
        7: ("info", "HTTP 302"),  # in no class: unknown
    }
    assert dict(server.seen) == dict.fromkeys(codes, 1)  # no retries, no redirects followed
    body, headers = server.bodies[1]
    assert orjson.loads(body) == {"sku": "a"}
    assert headers["Content-Type"] == "application/json"
    assert (headers["X-Order-Id"], headers["X-Run-Id"]) == ("1", "run-1")
    assert headers["Idempotency-Key"] == "run-1:1"


def test_configured_classes_and_headers(server: HttpServer) -> None:
    server.plan = lambda order_id: {1: 202, 2: 409, 3: 429, 4: 500}[order_id]
    pub = publisher(f"{server.url}/orders", ok=[202], fail=["400-428", "430-499", 500],
                    info=[429], headers={"Authorization": "Bearer t"})
    try:
        assert [pub.publish(i, b"{}").outcome for i in (1, 2, 3, 4)] == [
            "ok", "fail", "info", "fail"]
    finally:
        pub.close()
    assert server.bodies[1][1]["Authorization"] == "Bearer t"


def test_refused_connection_is_fail() -> None:
    result = publisher(f"http://127.0.0.1:{free_port()}/orders").publish(1, b"{}")
    assert (result.outcome, result.error) == ("fail", "ConnectionRefusedError")


def test_slow_server_is_info_within_the_timeout(server: HttpServer) -> None:
    server.plan = lambda order_id: "slow" if order_id == 1 else 200
    pub = publisher(f"{server.url}/orders", timeout="300ms")
    try:
        started = time.monotonic()
        slow = pub.publish(1, b"{}")
        assert time.monotonic() - started < 2
        assert (slow.outcome, slow.error) == ("info", "ReadTimeout")
        assert pub.publish(2, b"{}").outcome == "ok"  # the next one goes through
    finally:
        pub.close()
    assert server.seen[1] == 1  # the server did get it: `fail` would have been wrong


def test_connection_closed_after_the_request_is_info(server: HttpServer) -> None:
    server.plan = lambda order_id: "close" if order_id == 2 else 200
    pub = publisher(f"{server.url}/orders")
    try:
        assert pub.publish(1, b"{}").outcome == "ok"  # a kept-alive connection, then cut
        lost = pub.publish(2, b"{}")
        assert (lost.outcome, lost.error) == ("info", "RemoteProtocolError")
        assert pub.publish(3, b"{}").outcome == "ok"
    finally:
        pub.close()
    assert server.seen == {1: 1, 2: 1, 3: 1}


@pytest.mark.parametrize(("settings", "message"), [
    ({}, "http setting url must be an http:// or https:// URL, got None"),
    ({"url": "ftp://x/"}, "http setting url must be an http:// or https:// URL, got 'ftp://x/'"),
    ({"url": "http://x/", "colour": 1}, "unknown http setting(s): colour"),
    ({"url": "http://x/", "timeout": "soon"},
     'http setting timeout: must be a duration like 30s, got "soon"'),
    ({"url": "http://x/", "ok": ["2xx"]},
     "http setting ok: '2xx' is not a status code (100-599) or a range like 200-299"),
    ({"url": "http://x/", "fail": ["299-200"]},
     "http setting fail: '299-200' is not a status code (100-599) or a range like 200-299"),
    ({"url": "http://x/", "info": [404]}, "http settings fail and info both name status 404"),
    ({"url": "http://x/", "headers": ["a"]},
     "http setting headers must be a mapping of names to values, got ['a']"),
    ({"url": "https://x/", "ca_file": "/nonexistent.pem"},
     "http setting ca_file '/nonexistent.pem': No such file or directory"),
])
def test_bad_settings_are_one_line_errors(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as err:
        HttpPublisher(settings, run_id="r")
    assert str(err.value) == message


def test_https_with_a_ca_file(tmp_path: Path) -> None:
    """A real TLS server (certificate from our own CA): verified -> ok; without the CA -> fail."""
    with tls_server(tmp_path) as (url, ca_file):
        pub = publisher(url, ca_file=str(ca_file))
        try:
            assert pub.publish(1, b"{}").outcome == "ok"
        finally:
            pub.close()
        untrusted = publisher(url).publish(2, b"{}")
        assert (untrusted.outcome, untrusted.error) == ("fail", "SSLCertVerificationError")


def test_import_is_light() -> None:
    """`validate` never loads httpx through the registry (the class loads on use)."""
    code = "import sys, chaos.registry; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
