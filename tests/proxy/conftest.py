"""Fixtures: the embedded proxy server as a real process (and a real toxiproxy-server when
TOXIPROXY_SERVER names its binary), real TCP upstreams, and a client per test."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from chaos.proxy.client import ToxiproxyClient
from tests.proxy.upstreams import Upstream, echo, free_port

ROOT = Path(__file__).resolve().parents[2]
_names = itertools.count()


@dataclass
class Server:
    kind: str  # embedded | real
    api: str
    proc: subprocess.Popen[bytes]


def start_server(argv: list[str], api: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a server process; its stderr goes to `log` (never a pipe nobody reads)."""
    out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=out)
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text() if log is not None else ""
            raise RuntimeError(f"proxy server exited with {proc.returncode}: {text}")
        try:
            if httpx.get(f"{api}/version", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    stop_server(proc)
    raise RuntimeError("proxy server did not answer /version within 30 s")


def stop_server(proc: subprocess.Popen[bytes]) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def embedded_argv(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "chaos.proxy", "--host", "127.0.0.1", "--port", str(port),
            "--seed", "7", *extra]


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One embedded server for the session; at the end its log must show no traceback."""
    port = free_port()
    log = tmp_path_factory.mktemp("proxy") / "server.log"
    proc = start_server(embedded_argv(port), f"http://127.0.0.1:{port}", log)
    yield Server("embedded", f"http://127.0.0.1:{port}", proc)
    assert stop_server(proc) == 0
    text = log.read_text()
    assert "Traceback" not in text and "Exception" not in text, text[-3000:]


@pytest.fixture(scope="session", params=["embedded", "real"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """Both servers: ours always, the real Toxiproxy when TOXIPROXY_SERVER is set."""
    if request.param == "embedded":
        yield request.getfixturevalue("embedded")
        return
    binary = os.environ.get("TOXIPROXY_SERVER")
    if not binary:
        pytest.skip("TOXIPROXY_SERVER is not set (path of a real toxiproxy-server binary)")
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    proc = start_server([binary, "-host", "127.0.0.1", "-port", str(port)], api)
    yield Server("real", api, proc)
    stop_server(proc)


@pytest.fixture
def client(server: Server) -> Iterator[ToxiproxyClient]:
    with ToxiproxyClient(server.api) as c:
        yield c
        for name in c.proxies():
            c.delete_proxy(name)


@pytest.fixture
def ours(embedded: Server) -> Iterator[ToxiproxyClient]:
    """A client of the embedded server only (for behaviour the real one lacks)."""
    with ToxiproxyClient(embedded.api) as c:
        yield c
        for name in c.proxies():
            c.delete_proxy(name)


@pytest.fixture(scope="session")
def echo_up() -> Iterator[Upstream]:
    up = Upstream(echo)
    yield up
    up.close()


def new_proxy(c: ToxiproxyClient, upstream: str) -> tuple[str, str]:
    """A fresh proxy on a free loopback port: (name, listen address)."""
    name = f"p{next(_names)}"
    created = c.create_proxy(name, "127.0.0.1:0", upstream)
    return name, str(created["listen"])
