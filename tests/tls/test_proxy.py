"""Certificate faults `via: proxy` (the embedded proxy's `tls` toxic) and the handshake
stall (a `timeout` blackhole), through a real proxy process in front of a real HTTPS pod."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from chaos.faults import tls
from chaos.faults.base import FaultNotEffective
from chaos.platforms.base import PlatformError
from chaos.spec.structs import decode
from chaos.tls import toxics_api
from chaos.tls.actions import ToxicAction
from chaos.tls.handshake import probe_handshake
from tests.tls.conftest import (
    ROOT,
    Ca,
    HttpsPod,
    RotatingPlatform,
    env,
    free_port,
    good_probe,
    make_deployment_ca,
    start_https_pod,
    stop,
    target,
)

CASES = [
    (tls.EXPIRED_CERT, 10),
    (tls.NOT_YET_VALID, 9),
    (tls.UNTRUSTED_CA, 20),
    (tls.HOSTNAME_MISMATCH, 62),
]


@dataclass
class Proxy:
    api: str
    listen: str


@dataclass
class World:
    """One CA, HTTPS pod and proxy process per module (starting them costs ~2 s)."""

    ca: Ca
    pod: HttpsPod
    proxy: Proxy


def start_proxy(upstream: str) -> tuple[subprocess.Popen[bytes], Proxy]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chaos.proxy", "-port", str(port), "-seed", "1"], cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 15
    while True:
        try:
            httpx.get(f"{api}/version", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if time.monotonic() > end or proc.poll() is not None:
                stop(proc)
                raise
            time.sleep(0.05)
    listen = f"127.0.0.1:{free_port()}"
    resp = httpx.post(f"{api}/proxies", json={
        "name": "consumer-payment", "listen": listen, "upstream": upstream,
    })
    assert resp.status_code == 201, resp.text
    return proc, Proxy(api, listen)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    ca = make_deployment_ca(tmp_path_factory.mktemp("tls-proxy"))
    pod = start_https_pod(ca)
    try:
        proc, proxy = start_proxy(pod.address)
        try:
            yield World(ca, pod, proxy)
        finally:
            stop(proc)
    finally:
        stop(pod.proc)


@pytest.fixture
def clean(world: World) -> Iterator[World]:
    """Each test starts and ends without toxics (a failed test must not leak one)."""
    yield world
    httpx.post(f"{world.proxy.api}/reset", timeout=5)


def plan(fault: tls.CertFault | tls.HandshakeStall, params: dict[str, object], ca: Ca,
         pod: HttpsPod, proxy: Proxy) -> ToxicAction:
    spec = target()
    model = decode(fault.Params, params)
    assert fault.validate(model, spec) == []
    platform = RotatingPlatform(pod, {"consumer-payment": proxy.listen}, proxy.api)
    (action,) = fault.actions(model, env(spec, platform, ca.run_dir))
    assert isinstance(action, ToxicAction)
    return action


def toxics(proxy: Proxy) -> list[str]:
    resp = httpx.get(f"{proxy.api}/proxies/consumer-payment/toxics")
    return [t["name"] for t in resp.json()]


@pytest.mark.parametrize(("fault", "code"), CASES, ids=[c[0].name for c in CASES])
def test_tls_toxic_apply_verify_revert(fault: tls.CertFault, code: int, clean: World) -> None:
    ca, https_pod, proxy = clean.ca, clean.pod, clean.proxy
    action = plan(fault, {"via": "proxy", "proxy": "consumer-payment"}, ca, https_pod, proxy)
    assert probe_handshake(good_probe(ca, proxy.listen)).ok  # passthrough before
    action.apply()
    assert toxics(proxy) == [action.toxic_name]
    action.verify()
    seen = probe_handshake(good_probe(ca, proxy.listen))
    assert seen.verify_code == code, seen.describe()
    assert probe_handshake(good_probe(ca, https_pod.address)).ok, "the service is untouched"

    action.revert()
    action.revert()  # idempotent
    assert toxics(proxy) == []
    action.revert_verify()


def test_accepting_client_is_relayed_to_the_real_service(clean: World) -> None:
    ca, https_pod, proxy = clean.ca, clean.pod, clean.proxy
    """A client that does not verify (the bug the fault hunts) still gets real answers."""
    action = plan(tls.UNTRUSTED_CA, {"via": "proxy", "proxy": "consumer-payment"},
                  ca, https_pod, proxy)
    action.apply()
    action.verify()
    with httpx.Client(verify=False, timeout=5) as client:
        for _ in range(3):
            resp = client.get(f"https://{proxy.listen}/")
            assert resp.status_code == 200 and resp.text == "ok\n"
    action.revert()


def test_tls_toxic_cuts_sessions_open_before_it(clean: World) -> None:
    ca, https_pod, proxy = clean.ca, clean.pod, clean.proxy
    host, port = proxy.listen.split(":")
    ctx = ssl.create_default_context(cadata=ca.cert.decode())
    with socket.create_connection((host, int(port)), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as old:
        action = plan(tls.EXPIRED_CERT, {"via": "proxy", "proxy": "consumer-payment"},
                      ca, https_pod, proxy)
        action.apply()
        action.verify()
        old.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try:
            got = old.recv(100)
        except (ssl.SSLError, OSError):
            got = b""
        assert got == b"", "an established session must be cut so the client reconnects"
        action.revert()


def test_bad_tls_toxic_attributes_are_a_400(clean: World) -> None:
    proxy = clean.proxy
    resp = httpx.post(f"{proxy.api}/proxies/consumer-payment/toxics", json={
        "name": "bad", "type": "tls", "stream": "upstream", "attributes": {"cert": "nope"},
    })
    assert resp.status_code == 400 and "cert and key" in resp.text
    resp = httpx.post(f"{proxy.api}/proxies/consumer-payment/toxics", json={
        "name": "bad", "type": "tls", "attributes": {"cert": "x", "key": "y"},
    })
    assert resp.status_code == 400 and "do not load" in resp.text


def test_handshake_stall(clean: World) -> None:
    ca, https_pod, proxy = clean.ca, clean.pod, clean.proxy
    action = plan(tls.HANDSHAKE_STALL, {"proxy": "consumer-payment", "probe_timeout": "500ms"},
                  ca, https_pod, proxy)
    action.verify_within_s = 0.8
    with pytest.raises(FaultNotEffective, match="does not complete"):
        action.verify()
    action.verify_within_s = 5.0
    action.apply()
    action.verify()
    seen = probe_handshake(good_probe(ca, proxy.listen, timeout_s=0.5))
    assert seen.timed_out and seen.elapsed_s >= 0.45, seen.describe()

    record = json.loads(json.dumps(action.record()))
    assert record["toxic"] == action.toxic_name and record["api_url"] == proxy.api
    restored = tls.HANDSHAKE_STALL.restore(record)  # rollback after a runner crash
    restored.revert()
    assert toxics(proxy) == []
    assert isinstance(restored, ToxicAction)
    restored.revert_verify()
    action.revert()  # the live action's revert is still harmless (toxic already gone)


def test_proxy_api_errors_are_one_line(clean: World) -> None:
    api = clean.proxy.api
    with pytest.raises(PlatformError, match=r"refused toxic 't' on 'nope': .*404 proxy not found"):
        toxics_api.add_toxic(api, "nope", {"name": "t", "type": "timeout"})
    with pytest.raises(PlatformError, match=r": 400 "):
        toxics_api.add_toxic(api, "consumer-payment", {"name": "t", "type": "no-such-type"})
    assert toxics_api.remove_toxic(api, "consumer-payment", "never-added") is False
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PlatformError, match="unreachable"):
        toxics_api.remove_toxic(dead, "consumer-payment", "t")


def test_toxicity_change_closes_terminated_sessions(clean: World) -> None:
    ca, https_pod, proxy = clean.ca, clean.pod, clean.proxy
    action = plan(tls.UNTRUSTED_CA, {"via": "proxy", "proxy": "consumer-payment"},
                  ca, https_pod, proxy)
    action.apply()
    action.verify()
    host, port = proxy.listen.split(":")
    loose = ssl.create_default_context()
    loose.check_hostname, loose.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=5) as raw, \
            loose.wrap_socket(raw, server_hostname="localhost") as held:
        resp = httpx.patch(f"{proxy.api}/proxies/consumer-payment/toxics/{action.toxic_name}",
                           json={"toxicity": 0.0})
        assert resp.status_code == 200, resp.text
        held.settimeout(3.0)
        try:  # closed by the proxy at once, without the client sending anything
            got: bytes | str = held.recv(100)
        except TimeoutError:
            got = "still open"
        except (ssl.SSLError, OSError):
            got = b""
        assert got == b"", "a terminated session cannot fall back to passthrough"
    assert probe_handshake(good_probe(ca, proxy.listen)).ok  # new connections: toxicity 0
    action.revert()


def test_rollback_of_a_toxic_on_a_dead_embedded_server_is_done() -> None:
    """The embedded server dies with its run, and its toxics with it; a real one does not."""
    dead = "http://127.0.0.1:9"  # discard port: nothing listens there
    assert toxics_api.remove_toxic(dead, "p", "t", embedded=True) is False
    with pytest.raises(PlatformError, match="unreachable"):
        toxics_api.remove_toxic(dead, "p", "t", embedded=False)
