"""TLS faults on the real local platform: its per-deployment CA, its rotate_certificate
(files + SIGHUP to the pod) and its embedded proxy, with the test HTTPS server as the pod.

Pods dial 127.0.0.1 here (the first TLS host), so a name mismatch shows as verify code 64.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.faults import tls
from chaos.faults.base import FaultEnv
from chaos.platforms.local import LocalPlatform
from chaos.spec.models import TargetSpec
from chaos.spec.structs import decode
from chaos.tls.ca import ca_file
from chaos.tls.handshake import ProbeTarget, probe_handshake

ROOT = Path(__file__).resolve().parents[2]


def spec() -> TargetSpec:
    return decode(TargetSpec, {
        "apiVersion": "pipechaos/v1", "kind": "Target", "metadata": {"name": "tls-local"},
        "platform": {"type": "local", "settings": {"root": str(ROOT)}},
        "components": [{
            "name": "payment", "labels": {"app": "payment"},
            "command": ["python", "-m", "tests.tls.https_server"],
            "ports": ["https"], "ready": {"tcp": "https"},
            "tls": {"port": "https", "hosts": ["127.0.0.1", "localhost"]},
        }],
        "proxies": [{"name": "consumer-payment", "upstream": "${component:payment/https}"}],
    })


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    plat = LocalPlatform(spec(), tmp_path_factory.mktemp("tls-local"), None)
    try:
        plat.up()
        yield plat
    finally:
        plat.down()


def fault_env(plat: LocalPlatform) -> FaultEnv:
    return FaultEnv(plat.target, plat, random.Random(3), plat.run_dir, 5.0)


def good(plat: LocalPlatform, address_ref: str) -> bool:
    ca = ca_file(plat.run_dir).read_text()
    probe = ProbeTarget(plat.resolve(address_ref), "127.0.0.1", ca, 2.0)
    return probe_handshake(probe).ok


CERT_FAULTS = [tls.EXPIRED_CERT, tls.NOT_YET_VALID, tls.UNTRUSTED_CA, tls.HOSTNAME_MISMATCH]


@pytest.mark.parametrize("fault", CERT_FAULTS, ids=[f.name for f in CERT_FAULTS])
@pytest.mark.parametrize("via", ["rotate", "proxy"])
def test_cert_fault_on_local_platform(
    fault: tls.CertFault, via: str, platform: LocalPlatform
) -> None:
    where = {"service": "payment"} if via == "rotate" else {"proxy": "consumer-payment"}
    params = decode(fault.Params, {"via": via, **where})
    assert fault.validate(params, platform.target) == []
    (action,) = fault.actions(params, fault_env(platform))
    pid_before = platform.pods({"app": "payment"})[0].pid
    action.apply()
    try:
        action.verify()
        if via == "rotate":
            record = json.loads(json.dumps(action.record()))
            assert record["swap"]["reload_pid"] == pid_before
    finally:
        action.revert()
    action.revert_verify()  # type: ignore[attr-defined]
    assert good(platform, "${proxy:consumer-payment}")
    assert good(platform, "${component:payment/https}")
    assert platform.pods({"app": "payment"})[0].pid == pid_before, "reloaded, not restarted"


def test_rollback_of_a_local_rotation_from_the_record(platform: LocalPlatform) -> None:
    params = decode(tls.EXPIRED_CERT.Params, {"via": "rotate", "service": "payment"})
    (action,) = tls.EXPIRED_CERT.actions(params, fault_env(platform))
    action.apply()
    action.verify()
    restored = tls.EXPIRED_CERT.restore(json.loads(json.dumps(action.record())))
    restored.revert()  # no platform: backups copied back, the pod SIGHUPed
    restored.revert_verify()  # type: ignore[attr-defined]
    action.revert()  # the platform's own restore afterwards is harmless
    assert good(platform, "${component:payment/https}")


def test_handshake_stall_on_local_platform(platform: LocalPlatform) -> None:
    params = decode(tls.HANDSHAKE_STALL.Params,
        {"proxy": "consumer-payment", "probe_timeout": "500ms"}
    )
    (action,) = tls.HANDSHAKE_STALL.actions(params, fault_env(platform))
    action.apply()
    try:
        action.verify()
        assert good(platform, "${component:payment/https}"), "only the hop stalls"
    finally:
        action.revert()
    action.revert_verify()  # type: ignore[attr-defined]
