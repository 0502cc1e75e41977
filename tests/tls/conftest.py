"""Fixtures: a deployment CA in a run directory, a real HTTPS pod process that reloads its
certificate on SIGHUP, and a minimal platform that rotates certificates like the local one
(files + SIGHUP), for tests that do not need the whole local platform."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chaos.faults.base import FaultEnv
from chaos.platforms.base import CertificateSwap
from chaos.spec.models import TargetSpec
from chaos.spec.structs import decode
from chaos.tls.certs import make_ca, make_server_cert
from chaos.tls.handshake import ProbeTarget, wait_for

ROOT = Path(__file__).resolve().parents[2]
HOSTS = ["localhost", "127.0.0.1"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Ca:
    cert: bytes
    key: bytes
    run_dir: Path


def make_deployment_ca(run_dir: Path) -> Ca:
    """A CA where the local platform keeps it: <run_dir>/pods/data/ca/{ca,ca-key}.pem."""
    cert, key = make_ca("test deployment CA")
    folder = run_dir / "pods" / "data" / "ca"
    folder.mkdir(parents=True)
    (folder / "ca.pem").write_bytes(cert)
    (folder / "ca-key.pem").write_bytes(key)
    return Ca(cert, key, run_dir)


@pytest.fixture
def ca(tmp_path: Path) -> Ca:
    return make_deployment_ca(tmp_path)


@dataclass
class HttpsPod:
    proc: subprocess.Popen[bytes]
    port: int
    cert_path: Path
    key_path: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def start_https_pod(ca: Ca, name: str = "payment-0") -> HttpsPod:
    tls_dir = ca.run_dir / "pods" / "data" / name / "tls"
    tls_dir.mkdir(parents=True)
    cert, key = make_server_cert(ca.cert, ca.key, HOSTS)
    (tls_dir / "cert.pem").write_bytes(cert)
    (tls_dir / "key.pem").write_bytes(key)
    port = free_port()
    pod = {
        "name": f"{name}-test", "component": name.rsplit("-", 1)[0], "index": 0,
        "ports": {"https": port},
        "tls": {"cert": str(tls_dir / "cert.pem"), "key": str(tls_dir / "key.pem")},
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.tls.https_server"], cwd=ROOT,
        env={**os.environ, "PIPECHAOS_POD": json.dumps(pod)},
    )
    pod_ = HttpsPod(proc, port, tls_dir / "cert.pem", tls_dir / "key.pem")
    ok, res = wait_for(good_probe(ca, pod_.address), None, False, 15.0)
    if not ok:
        proc.kill()
        raise RuntimeError(f"test HTTPS pod did not come up: {res.describe()}")
    return pod_


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def https_pod(ca: Ca) -> Iterator[HttpsPod]:
    pod = start_https_pod(ca)
    yield pod
    stop(pod.proc)


def good_probe(ca: Ca, address: str, timeout_s: float = 2.0) -> ProbeTarget:
    return ProbeTarget(address, "localhost", ca.cert.decode(), timeout_s)


class RotatingPlatform:
    """The platform surface TLS faults use, rotating like the local platform does:
    back the files up, write the new pair, SIGHUP the server. `resolve` knows one TLS
    component (`payment/https`) and the proxies it is given."""

    def __init__(self, pod: HttpsPod | None, proxies: dict[str, str], api: str = "") -> None:
        self.pod = pod
        self.proxies = proxies
        self.api = api
        self.rotations = 0
        self.restores = 0

    def resolve(self, text: str) -> str:
        if self.pod is not None:
            text = text.replace("${component:payment/https}", self.pod.address)
        for name, address in self.proxies.items():
            text = text.replace(f"${{proxy:{name}}}", address)
        return text

    def proxy_api(self) -> str:
        return self.api

    def rotate_certificate(self, service: str, cert_pem: bytes, key_pem: bytes) -> CertificateSwap:
        assert self.pod is not None and service == "payment"
        self.rotations += 1
        backups = []
        for live, data in ((self.pod.cert_path, cert_pem), (self.pod.key_path, key_pem)):
            backup = live.with_name(live.name + f".{self.rotations}.bak")
            shutil.copyfile(live, backup)
            live.write_bytes(data)
            backups.append(str(backup))
        os.kill(self.pod.proc.pid, signal.SIGHUP)
        return CertificateSwap(
            service, str(self.pod.cert_path), str(self.pod.key_path), backups[0], backups[1],
            self.pod.proc.pid,
        )

    def restore_certificate(self, swap: CertificateSwap) -> None:
        self.restores += 1
        for backup, live in ((swap.backup_cert_path, swap.cert_path),
                             (swap.backup_key_path, swap.key_path)):
            if Path(backup).exists():
                shutil.copyfile(backup, live)
                Path(backup).unlink()
        if swap.reload_pid:
            os.kill(swap.reload_pid, signal.SIGHUP)


def target(
    proxies: list[dict[str, Any]] | None = None, proxy_server: Any = "embedded"
) -> TargetSpec:
    return decode(TargetSpec, {
        "apiVersion": "pipechaos/v1", "kind": "Target", "metadata": {"name": "tls-test"},
        "proxy_server": proxy_server,
        "components": [
            {"name": "payment", "ports": ["https"], "tls": {"port": "https"}},
            {"name": "redis", "ports": ["redis"]},
        ],
        "proxies": proxies if proxies is not None else [
            {"name": "consumer-payment", "upstream": "${component:payment/https}"},
        ],
    })


def env(spec: TargetSpec, platform: Any, run_dir: Path) -> FaultEnv:
    return FaultEnv(spec, platform, random.Random(7), run_dir, 5.0)


def wait_exit(proc: subprocess.Popen[bytes], seconds: float) -> None:
    end = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < end:
        time.sleep(0.05)
