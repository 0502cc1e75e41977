"""Certificate faults `via: rotate` against a real HTTPS process that reloads on SIGHUP:
every fault type applies, verifies with the right OpenSSL code, reverts and re-verifies,
also from its journal record alone (rollback after the runner died)."""

from __future__ import annotations

import json

import pytest

from chaos.faults import tls
from chaos.faults.base import FaultNotEffective
from chaos.platforms.base import CertificateSwap
from chaos.spec.structs import decode
from chaos.tls.actions import RevertNotEffective, RotateAction
from chaos.tls.handshake import probe_handshake, wait_for
from tests.tls.conftest import Ca, HttpsPod, RotatingPlatform, env, good_probe, target

CASES = [
    (tls.EXPIRED_CERT, 10),
    (tls.NOT_YET_VALID, 9),
    (tls.UNTRUSTED_CA, 20),
    (tls.HOSTNAME_MISMATCH, 62),
]


def plan(fault: tls.CertFault, ca: Ca, platform: RotatingPlatform) -> RotateAction:
    spec = target()
    params = decode(fault.Params, {"via": "rotate", "service": "payment"})
    assert fault.validate(params, spec) == []
    (action,) = fault.actions(params, env(spec, platform, ca.run_dir))
    assert isinstance(action, RotateAction)
    return action


@pytest.mark.parametrize(("fault", "code"), CASES, ids=[c[0].name for c in CASES])
def test_rotate_apply_verify_revert(
    fault: tls.CertFault, code: int, ca: Ca, https_pod: HttpsPod
) -> None:
    platform = RotatingPlatform(https_pod, {})
    action = plan(fault, ca, platform)
    assert fault.name in action.describe()
    action.verify_within_s = 0.3
    with pytest.raises(FaultNotEffective, match="handshake succeeded"):
        action.verify()  # not applied yet: the good certificate is still served

    action.verify_within_s = 5.0
    action.apply()
    action.verify()
    seen = probe_handshake(good_probe(ca, https_pod.address))
    assert not seen.ok and seen.verify_code == code, seen.describe()
    assert json.loads(json.dumps(action.record()))["swap"]["reload_pid"] == https_pod.proc.pid

    action.revert()
    action.revert()  # idempotent: no second restore
    assert platform.restores == 1
    action.revert_verify()
    assert probe_handshake(good_probe(ca, https_pod.address)).ok
    assert https_pod.proc.poll() is None, "the server must reload, not restart"


def test_revert_verify_fails_while_fault_is_on(ca: Ca, https_pod: HttpsPod) -> None:
    action = plan(tls.EXPIRED_CERT, ca, RotatingPlatform(https_pod, {}))
    action.apply()
    action.verify()
    action.verify_within_s = 0.3
    with pytest.raises(FaultNotEffective, match=r"still fails: .* verify code 10"):
        action.revert_verify()
    action.revert()
    action.verify_within_s = 5.0
    action.revert_verify()


def test_rollback_from_journal_record(ca: Ca, https_pod: HttpsPod) -> None:
    """After a SIGKILL of the runner, the record alone restores the files and reloads."""
    action = plan(tls.HOSTNAME_MISMATCH, ca, RotatingPlatform(https_pod, {}))
    action.apply()
    action.verify()
    record = json.loads(json.dumps(action.record()))
    restored = tls.HOSTNAME_MISMATCH.restore(record)
    restored.revert()
    assert isinstance(restored, RotateAction)
    restored.revert_verify()
    assert https_pod.cert_path.read_bytes() != b""
    restored.revert()  # idempotent across processes too (backups may be gone)
    assert probe_handshake(good_probe(ca, https_pod.address)).ok


def test_record_before_apply_reverts_to_nothing(ca: Ca, https_pod: HttpsPod) -> None:
    action = plan(tls.UNTRUSTED_CA, ca, RotatingPlatform(https_pod, {}))
    record = json.loads(json.dumps(action.record()))
    assert record["swap"] is None and record["via"] == "rotate"
    assert "PRIVATE KEY" not in json.dumps(record), "no key material in the journal"
    tls.UNTRUSTED_CA.restore(record).revert()  # crashed before apply: nothing to undo
    assert probe_handshake(good_probe(ca, https_pod.address)).ok


def test_restored_action_refuses_apply(ca: Ca, https_pod: HttpsPod) -> None:
    action = plan(tls.EXPIRED_CERT, ca, RotatingPlatform(https_pod, {}))
    restored = tls.EXPIRED_CERT.restore(json.loads(json.dumps(action.record())))
    with pytest.raises(FaultNotEffective, match="only be reverted"):
        restored.apply()


class ForgetfulPlatform(RotatingPlatform):
    """A platform whose restore does nothing: the revert must not pass silently."""

    def restore_certificate(self, swap: CertificateSwap) -> None:
        self.restores += 1


def test_live_revert_proves_itself(ca: Ca, https_pod: HttpsPod) -> None:
    action = plan(tls.NOT_YET_VALID, ca, ForgetfulPlatform(https_pod, {}))
    action.apply()
    action.verify()
    action.verify_within_s = 0.5
    with pytest.raises(RevertNotEffective, match=r"still fails: .* verify code 9"):
        action.revert()
    action.revert()  # claimed once: no second attempt, no second error
    tls.NOT_YET_VALID.restore(action.record()).revert()  # rollback from the record fixes it
    assert wait_for(good_probe(ca, https_pod.address), None, False, 5.0)[0]
