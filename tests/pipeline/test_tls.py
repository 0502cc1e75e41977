"""Payment over real HTTPS: a bad certificate makes sagas wait (transient, nothing lost);
SIGHUP reloads the certificate without a restart and traffic recovers."""

from __future__ import annotations

import signal
import time

import httpx

from chaos.tls.certs import make_ca, make_server_cert
from tests.pipeline.harness import Deployment, by_order, effect_counts, payload


def test_payment_reloads_certificate_on_sighup(deployment: Deployment) -> None:
    payment = next(p for p in deployment.pods if p.component == "payment")
    tls_dir = deployment.root / "data" / "payment-0" / "tls"
    good_cert, good_key = (tls_dir / "cert.pem").read_bytes(), (tls_dir / "key.pem").read_bytes()
    consumer = deployment.start_consumer(0)
    deployment.publish("run-tls", {i: payload(i) for i in range(1, 21)})
    deployment.wait_drained(30)

    other_ca, other_key = make_ca("someone else")  # untrusted by the consumer
    bad_cert, bad_key = make_server_cert(other_ca, other_key, ["127.0.0.1", "localhost"])
    (tls_dir / "cert.pem").write_bytes(bad_cert)
    (tls_dir / "key.pem").write_bytes(bad_key)
    payment.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    deployment.publish("run-tls", {i: payload(i) for i in range(21, 41)})
    deadline = time.monotonic() + 20
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = httpx.get(f"{consumer.url()}/status", timeout=5).json()
        if status["tls_failures"]:
            break
        time.sleep(0.2)
    assert status["tls_failures"] == {"untrusted": status["tls_failures"]["untrusted"]}
    assert not deployment.observer().drained()  # waiting, not compensating
    assert payment.proc.poll() is None  # reloaded, not restarted

    (tls_dir / "cert.pem").write_bytes(good_cert)
    (tls_dir / "key.pem").write_bytes(good_key)
    payment.proc.send_signal(signal.SIGHUP)
    deployment.wait_drained(30)
    doc = deployment.observe("run-tls")
    assert all(r["outcome"] == 1 for r in by_order(doc).values())
    assert len(by_order(doc)) == 40
    assert set(effect_counts(doc, "payment.charge").values()) == {1}


def test_tls_compensate_mode_compensates_during_fault(deployment: Deployment) -> None:
    payment = next(p for p in deployment.pods if p.component == "payment")
    tls_dir = deployment.root / "data" / "payment-0" / "tls"
    expired = make_server_cert(deployment.ca_cert, deployment.ca_key, ["127.0.0.1"],
                               not_before=_days_ago(10), not_after=_days_ago(5))
    (tls_dir / "cert.pem").write_bytes(expired[0])
    (tls_dir / "key.pem").write_bytes(expired[1])
    payment.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    deployment.start_consumer(0, tls_errors="compensate")
    deployment.publish("run-tc", {i: payload(i) for i in range(1, 11)})
    deployment.wait_drained(30)
    doc = deployment.observe("run-tc")
    assert all(r["outcome"] == 2 for r in by_order(doc).values())
    assert effect_counts(doc, "payment.charge") == {}
    assert effect_counts(doc, "inventory.release") == effect_counts(doc, "inventory.reserve")
    assert len(effect_counts(doc, "inventory.release")) == 10


def _days_ago(days: int):  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
