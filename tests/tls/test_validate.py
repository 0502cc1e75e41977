"""Plan-time checks of the TLS fault types, and the pure parts: bad certificates and probe
outcomes against real sockets (a silent listener, a closed port)."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator

import pytest
from cryptography import x509

from chaos.faults import tls
from chaos.spec.structs import ValidationError, decode
from chaos.tls import handshake
from chaos.tls.bad import WRONG_HOST, BadKind, make_bad_cert
from chaos.tls.ca import CaNotFound, read_ca
from chaos.tls.certs import make_ca
from tests.tls.conftest import Ca, free_port, target


def errors(fault: tls.CertFault | tls.HandshakeStall, params: dict[str, object],
           **target_kw: object) -> list[str]:
    return fault.validate(decode(fault.Params, params), target(**target_kw))  # type: ignore[arg-type]


def test_rotate_needs_a_tls_service() -> None:
    assert errors(tls.EXPIRED_CERT, {"via": "rotate", "service": "payment"}) == []
    assert errors(tls.EXPIRED_CERT, {"via": "rotate"}) == ["service: required with via: rotate"]
    (msg,) = errors(tls.EXPIRED_CERT, {"service": "nope"})
    assert msg.startswith("service: no component named 'nope' (known: payment, redis)")
    assert errors(tls.EXPIRED_CERT, {"service": "redis"}) == [
        "service: component 'redis' does not serve TLS (no tls:)"
    ]
    assert errors(tls.EXPIRED_CERT, {"service": "payment", "proxy": "consumer-payment"}) == [
        "proxy: only with via: proxy"
    ]


def test_proxy_way_needs_a_known_proxy_and_the_embedded_server() -> None:
    ok = {"via": "proxy", "proxy": "consumer-payment"}
    assert errors(tls.UNTRUSTED_CA, ok) == []
    assert errors(tls.UNTRUSTED_CA, {"via": "proxy"}) == ["proxy: required"]
    (msg,) = errors(tls.UNTRUSTED_CA, {"via": "proxy", "proxy": "x"})
    assert msg.startswith("proxy: target ")
    assert msg.endswith("has no proxy x, a role this experiment needs (it has: consumer-payment)")
    (msg,) = errors(tls.UNTRUSTED_CA, ok, proxy_server={"url": "http://127.0.0.1:8474"})
    assert msg.startswith("via: proxy needs the embedded proxy")
    assert "real Toxiproxy" in msg and "via: rotate" in msg


def test_handshake_stall_works_with_a_real_toxiproxy() -> None:
    params = {"proxy": "consumer-payment"}
    assert errors(tls.HANDSHAKE_STALL, params, proxy_server={"url": "http://127.0.0.1:8474"}) == []
    (msg,) = errors(tls.HANDSHAKE_STALL, {"proxy": "nope"})
    assert msg.startswith("proxy: target tls-test has no proxy nope")
    with pytest.raises(ValidationError):
        decode(tls.HANDSHAKE_STALL.Params, {})


def test_params_are_strict() -> None:
    with pytest.raises(ValidationError):
        decode(tls.EXPIRED_CERT.Params, {"via": "sideways", "service": "payment"})
    with pytest.raises(ValidationError):
        decode(tls.EXPIRED_CERT.Params, {"service": "payment", "bogus": 1})
    with pytest.raises(ValidationError):
        decode(tls.EXPIRED_CERT.Params, {"service": "payment", "probe_timeout": 2})
    p = decode(tls.EXPIRED_CERT.Params, {"service": "payment", "probe_timeout": "500ms"})
    assert p.probe_timeout == 0.5  # type: ignore[attr-defined]


def test_names_match_the_entry_points() -> None:
    names = [f.name for f in (tls.EXPIRED_CERT, tls.NOT_YET_VALID, tls.UNTRUSTED_CA,
                              tls.HOSTNAME_MISMATCH, tls.HANDSHAKE_STALL)]
    assert names == ["tls.expired-cert", "tls.not-yet-valid", "tls.untrusted-ca",
                     "tls.hostname-mismatch", "tls.handshake-stall"]
    assert not any(f.instant for f in (tls.EXPIRED_CERT, tls.HANDSHAKE_STALL))


@pytest.mark.parametrize("kind", list(BadKind))
def test_bad_certificates_are_bad_in_one_way_only(kind: BadKind, ca: Ca) -> None:
    now = dt.datetime.now(dt.UTC)
    bad = make_bad_cert(kind, ca.cert, ca.key, ["localhost", "127.0.0.1"], now)
    cert = x509.load_pem_x509_certificate(bad.cert_pem)
    ca_cert = x509.load_pem_x509_certificate(ca.cert)
    valid_now = cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
    assert valid_now == (kind not in (BadKind.EXPIRED, BadKind.NOT_YET_VALID))
    if kind is BadKind.EXPIRED:
        assert cert.not_valid_after_utc < now - dt.timedelta(hours=12)
    if kind is BadKind.NOT_YET_VALID:
        assert cert.not_valid_before_utc > now + dt.timedelta(hours=12)
    assert (cert.issuer == ca_cert.subject) == (kind is not BadKind.UNTRUSTED)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = sans.get_values_for_type(x509.DNSName)
    assert dns == ([WRONG_HOST] if kind is BadKind.HOSTNAME_MISMATCH else ["localhost"])
    assert b"PRIVATE KEY" in bad.key_pem and bad.summary


def test_read_ca_finds_the_platform_layout(
    ca: Ca, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert read_ca(ca.run_dir) == (ca.cert, ca.key)
    with pytest.raises(CaNotFound, match="no deployment CA"):
        read_ca(tmp_path_factory.mktemp("empty"))


@pytest.fixture
def silent() -> Iterator[str]:
    """A listener that accepts (backlog) but never speaks: a stalled handshake."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        yield f"127.0.0.1:{srv.getsockname()[1]}"


def test_probe_times_out_on_a_silent_peer(silent: str) -> None:
    ca_pem = make_ca()[0].decode()
    res = handshake.probe_handshake(handshake.ProbeTarget(silent, "localhost", ca_pem, 0.3))
    assert res.timed_out and not res.ok and res.verify_code is None
    assert 0.25 <= res.elapsed_s < 5.0
    assert "timed out" in res.describe()
    ok, _ = handshake.wait_for(handshake.ProbeTarget(silent, "localhost", ca_pem, 0.2),
                               None, True, 1.0)
    assert ok


def test_probe_on_a_closed_port_is_an_error_not_a_stall() -> None:
    ca_pem = make_ca()[0].decode()
    res = handshake.probe_handshake(
        handshake.ProbeTarget(f"127.0.0.1:{free_port()}", "localhost", ca_pem, 1.0)
    )
    assert not res.ok and not res.timed_out and res.verify_code is None
    assert res.error and "refused" in res.error.lower()
    assert not handshake.matches(res, None, True)
    assert not handshake.matches(res, frozenset({10}), False)


def test_probe_target_round_trips_and_rejects_bad_addresses() -> None:
    probe = handshake.ProbeTarget("127.0.0.1:1", "localhost", "PEM", 1.5)
    assert handshake.ProbeTarget.from_dict(probe.as_dict()) == probe
    with pytest.raises(ValueError, match="host:port"):
        handshake.split_address("nohost")
