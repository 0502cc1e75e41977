"""The platform's embedded proxy server (populated, reachable, resolved) and certificate
rotation with a real TLS handshake against a test server that reloads on SIGHUP."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from chaos.platforms.base import PlatformError
from chaos.platforms.certfiles import CertificateSwaps, restore_swap, swap_from_record
from chaos.platforms.local import LocalPlatform
from chaos.platforms.ports import free_port
from chaos.run import journal as jr
from chaos.tls.certs import make_ca, make_server_cert
from tests.platform.conftest import component, pod_doc, target

Start = Callable[..., LocalPlatform]


def test_proxies_populated_and_resolved(start: Start) -> None:
    spec = target(
        component("svc", replicas=2),
        component("client", settings={"svc": "${proxy:client-{index}-svc}",
                                      "api": "${proxy_api}"}),
        proxies=[
            {"name": "client-0-svc", "listen": "auto", "upstream": "${component:svc/admin/1}"},
            {"name": "direct", "upstream": "${component:svc/admin}"},
        ],
    )
    platform = start(spec)
    api = platform.proxy_api()
    assert api.startswith("http://127.0.0.1:")
    listed = httpx.get(f"{api}/proxies").json()
    assert sorted(listed) == ["client-0-svc", "direct"]
    assert listed["client-0-svc"]["upstream"] == platform.resolve("${component:svc/admin/1}")
    assert listed["client-0-svc"]["enabled"] is True
    via = platform.resolve("${proxy:client-0-svc}")
    assert listed["client-0-svc"]["listen"] == via
    svc1 = platform.pods({"app": "svc"})[1]
    assert httpx.get(f"http://{via}/healthz").json()["name"] == svc1.name
    (client,) = platform.pods({"app": "client"})
    doc = pod_doc(platform, client)
    assert doc["settings"] == {"svc": via, "api": api}
    assert (platform.pods_dir / "proxy-server.log").exists()
    platform.down()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{api}/version", timeout=1.0)


def test_unknown_upstream_reference_fails_up(start: Start) -> None:
    spec = target(component("svc"),
                  proxies=[{"name": "p", "upstream": "${component:svc/nope}"}])
    with pytest.raises(PlatformError, match="component 'svc' has no port 'nope'"):
        start(spec)


def serial(port: int, ca_file: str) -> int:
    """The serial number of the certificate served on port (verified against the CA)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def tls_target() -> object:
    return target(component("payment", replicas=2, ports=["https"],
                            ready={"http": "https", "path": "/healthz"},
                            tls={"port": "https"}, settings={"mode": "tls"}))


def test_rotate_and_restore_certificate_with_real_handshakes(start: Start) -> None:
    platform = start(tls_target())
    ca_file = str(platform.ca_file)
    ports = [int(platform.resolve(f"${{component:payment/https/{i}}}").split(":")[1])
             for i in range(2)]
    before = [serial(p, ca_file) for p in ports]
    pods = platform.pods({})
    ca_dir = platform.ca_file.parent
    cert, key = make_server_cert((ca_dir / "ca.pem").read_bytes(),
                                 (ca_dir / "ca-key.pem").read_bytes(), ["localhost"])
    swap = platform.rotate_certificate("payment", cert, key)
    assert isinstance(swap, CertificateSwaps) and len(swap.replicas) == 2
    new_serial = x509.load_pem_x509_certificate(cert).serial_number
    assert [serial(p, ca_file) for p in ports] == [new_serial, new_serial]
    assert [p.name for p in platform.pods({})] == [p.name for p in pods]  # reloaded, not restarted
    platform.restore_certificate(swap)
    platform.restore_certificate(swap)  # idempotent
    assert [serial(p, ca_file) for p in ports] == before


def test_untrusted_rotation_fails_handshake_and_record_restores(start: Start) -> None:
    platform = start(tls_target())
    port = int(platform.resolve("${component:payment/https}").split(":")[1])
    other_ca = make_ca("someone else")
    swap = platform.rotate_certificate("payment", *make_server_cert(*other_ca, ["localhost"]))
    with pytest.raises(ssl.SSLCertVerificationError):
        serial(port, str(platform.ca_file))
    record = json.loads(json.dumps(dataclasses.asdict(swap)))
    restore_swap(swap_from_record(record))  # rollback path: no platform needed
    serial(port, str(platform.ca_file))


def test_rotate_errors(start: Start) -> None:
    platform = start(target(component("plain")))
    with pytest.raises(PlatformError, match="serves no TLS"):
        platform.rotate_certificate("plain", b"", b"")
    with pytest.raises(PlatformError, match="no component named 'x'"):
        platform.rotate_certificate("x", b"", b"")


def test_shared_proxy_server_by_url(start: Start, tmp_path: Path) -> None:
    """proxy_server: {url}: our proxies are created there and deleted again at down(); one
    the server already had is reused and left (SIGKILL + rollback: test_shared_proxy_rollback)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "chaos.proxy", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        spec = target(component("svc"), proxy_server={"url": url},
                      proxies=[{"name": "shared-p", "upstream": "${component:svc/admin}"},
                               {"name": "found", "upstream": "${component:svc/admin}"}])
        platform = start(spec, up=False)
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/version", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "proxy server did not start"
                time.sleep(0.1)
        httpx.post(f"{url}/proxies", json={"name": "found", "listen": "127.0.0.1:0",
                                           "upstream": "127.0.0.1:1"}).raise_for_status()
        platform.up()
        assert platform.proxy_api() == url
        assert sorted(httpx.get(f"{url}/proxies").json()) == ["found", "shared-p"]
        journal = list(jr.read(platform.run_dir / "journal.jsonl"))
        assert jr.leftover_proxies(journal) == {url: ["shared-p"]}  # before it existed
        platform.down()
        assert list(httpx.get(f"{url}/proxies").json()) == ["found"]
        assert jr.leftover_proxies(list(jr.read(platform.run_dir / "journal.jsonl"))) == {}
        assert server.poll() is None, "a shared server is not ours to stop"
    finally:
        server.terminate()
        server.wait()


def test_embedded_proxy_server_comes_back_with_its_proxies(start: Start) -> None:
    spec = target(component("svc"),
                  proxies=[{"name": "p", "upstream": "${component:svc/admin}"}])
    platform = start(spec)
    via = platform.resolve("${proxy:p}")
    first = platform.proxy_server_pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://{via}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "proxy not back after 30 s"
        time.sleep(0.1)
    assert platform.proxy_server_pid not in (None, first)
    assert list(httpx.get(f"{platform.proxy_api()}/proxies").json()) == ["p"]
    log = (platform.pods_dir / "proxy-server.log").read_text()
    assert "proxy server exited (-9); restarting" in log
