"""TLS faults: expired, not-yet-valid, untrusted and hostname-mismatched certificates, and
handshakes that never complete.

Certificate faults reach a service one of two ways (`via:`): `rotate` (the platform swaps
the service's serving certificate and signals a reload) or `proxy` (our proxy terminates
TLS on a hop with the bad certificate: a `tls` toxic a real Toxiproxy lacks). The bad
certificate is made when the occurrence starts, signed by the deployment CA unless the
fault is about the CA. `tls.handshake-stall` is a blackhole on the TLS hop (a `timeout`
toxic with timeout 0), so it works with a real Toxiproxy too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from msgspec import Meta

from chaos.faults.base import Action, FaultEnv, FaultParams
from chaos.spec.names import no_proxy
from chaos.spec.units import Duration
from chaos.tls import actions as tls_actions
from chaos.tls import handshake
from chaos.tls.bad import WRONG_HOST, BadKind, make_bad_cert
from chaos.tls.ca import platform_ca
from chaos.tls.handshake import ProbeTarget

if TYPE_CHECKING:
    from chaos.spec.models import TargetSpec

DEFAULT_HOSTS = ["localhost", "127.0.0.1"]


class CertParams(FaultParams, frozen=True):
    via: Literal["rotate", "proxy"] = "rotate"
    service: Annotated[str | None, Meta(description="component whose certificate is swapped")] = (
        None
    )
    proxy: Annotated[str | None, Meta(description="proxied TLS hop whose proxy presents it")] = None
    server_hostname: Annotated[str | None, Meta(description="name the pods verify")] = None
    probe_timeout: Annotated[Duration, Meta(description="one probe handshake's timeout")] = 2.0
    verify_within: Annotated[Duration, Meta(description="how long verify polls for the effect")] = (
        5.0
    )


class MismatchParams(CertParams, frozen=True):
    """tls.hostname-mismatch alone chooses which host its certificate names."""

    wrong_host: Annotated[str, Meta(description="the host the certificate names instead")] = (
        WRONG_HOST
    )


class StallParams(FaultParams, kw_only=True, frozen=True):
    proxy: Annotated[str, Meta(description="proxied TLS hop to blackhole")]
    server_hostname: str | None = None
    probe_timeout: Annotated[Duration, Meta(description="a handshake slower than this stalled")] = (
        1.0
    )
    verify_within: Annotated[Duration, Meta(description="how long verify polls for the effect")] = (
        5.0
    )


def _tls_hosts(target: TargetSpec, component: str | None) -> list[str]:
    comp = target.component(component) if component else None
    return list(comp.tls.hosts) if comp and comp.tls and comp.tls.hosts else list(DEFAULT_HOSTS)


def _upstream_component(target: TargetSpec, proxy: str) -> str | None:
    """`${component:payment/https}` as a proxy's upstream names the component behind it."""
    spec = target.proxy(proxy)
    if spec is None or "${component:" not in spec.upstream:
        return None
    return spec.upstream.split("${component:", 1)[1].split("/", 1)[0].split("}", 1)[0]


def _proxy_errors(target: TargetSpec, proxy: str | None) -> list[str]:
    if not proxy:
        return ["proxy: required"]
    if target.proxy(proxy) is None:
        return [f"proxy: {no_proxy(target, proxy)}"]
    return []


class CertFault:
    """One certificate fault type; the four differ only in the certificate they make."""

    Params: type[FaultParams] = CertParams
    instant = False

    def __init__(
        self, name: str, kind: BadKind, description: str, params: type[CertParams] = CertParams
    ) -> None:
        self.name = name
        self.kind = kind
        self.description = description
        self.Params = params

    def validate(self, params: FaultParams, target: TargetSpec) -> list[str]:
        assert isinstance(params, CertParams)
        if params.via == "rotate":
            errors = [] if params.proxy is None else ["proxy: only with via: proxy"]
            if not params.service:
                return [*errors, "service: required with via: rotate"]
            comp = target.component(params.service)
            if comp is None:
                known = ", ".join(c.name for c in target.components) or "none"
                return [*errors, f"service: no component named {params.service!r} (known: {known})"]
            if comp.tls is None:
                errors.append(f"service: component {params.service!r} does not serve TLS (no tls:)")
            return errors
        errors = [] if params.service is None else ["service: only with via: rotate"]
        errors += _proxy_errors(target, params.proxy)
        if target.real_toxiproxy:
            errors.append(
                "via: proxy needs the embedded proxy (its tls toxic): the target's proxy_server "
                "is a real Toxiproxy, which only copies bytes and cannot present a "
                "certificate; use via: rotate"
            )
        return errors

    def actions(self, params: FaultParams, env: FaultEnv) -> list[Action]:
        assert isinstance(params, CertParams)
        ca_cert, ca_key = platform_ca(env.platform, env.run_dir)
        if params.via == "rotate":
            assert params.service is not None
            comp = env.target.component(params.service)
            assert comp is not None and comp.tls is not None
            hosts = list(comp.tls.hosts) or list(DEFAULT_HOSTS)
            address = env.platform.resolve(f"${{component:{comp.name}/{comp.tls.port}}}")
        else:
            assert params.proxy is not None
            hosts = _tls_hosts(env.target, _upstream_component(env.target, params.proxy))
            address = env.platform.resolve(f"${{proxy:{params.proxy}}}")
        wrong_host = getattr(params, "wrong_host", WRONG_HOST)  # MismatchParams only
        bad = make_bad_cert(self.kind, ca_cert, ca_key, hosts, wrong_host=wrong_host)
        probe = ProbeTarget(
            address, params.server_hostname or hosts[0], ca_cert.decode(), params.probe_timeout
        )
        codes = handshake.ACCEPTED[self.kind.verify_code]
        if params.via == "rotate":
            assert params.service is not None
            return [
                tls_actions.RotateAction(
                    self.name, params.service, probe, codes, params.verify_within,
                    env.platform, bad.cert_pem, bad.key_pem, bad.summary,
                )
            ]
        assert params.proxy is not None
        toxic = {
            "name": f"{self.name}-{env.rng.randrange(16**6):06x}",
            "type": "tls",
            "stream": "upstream",  # it must see the client's ClientHello first
            "toxicity": 1.0,
            "attributes": {"cert": bad.cert_pem.decode(), "key": bad.key_pem.decode()},
        }
        return [
            tls_actions.ToxicAction(
                self.name, env.platform.proxy_api(), params.proxy, toxic, probe, codes,
                False, params.verify_within, f"presents a certificate {bad.summary}",
                embedded=not env.target.shared_proxy_server,
            )
        ]

    def restore(self, record: dict[str, Any]) -> Action:
        return tls_actions.restore_action(record)


class HandshakeStall:
    """A blackhole on the TLS hop: connections open, the handshake never completes."""

    name = "tls.handshake-stall"
    Params: type[FaultParams] = StallParams
    instant = False
    description = "TLS handshakes through a proxy never complete (timeout toxic, timeout 0)"

    def validate(self, params: FaultParams, target: TargetSpec) -> list[str]:
        assert isinstance(params, StallParams)
        return _proxy_errors(target, params.proxy)

    def actions(self, params: FaultParams, env: FaultEnv) -> list[Action]:
        assert isinstance(params, StallParams)
        ca_cert, _ = platform_ca(env.platform, env.run_dir)
        hosts = _tls_hosts(env.target, _upstream_component(env.target, params.proxy))
        probe = ProbeTarget(
            env.platform.resolve(f"${{proxy:{params.proxy}}}"),
            params.server_hostname or hosts[0], ca_cert.decode(), params.probe_timeout,
        )
        toxic = {
            "name": f"{self.name}-{env.rng.randrange(16**6):06x}",
            "type": "timeout",
            "stream": "downstream",
            "toxicity": 1.0,
            "attributes": {"timeout": 0},
        }
        return [
            tls_actions.ToxicAction(
                self.name, env.platform.proxy_api(), params.proxy, toxic, probe, None, True,
                params.verify_within, "blackholes server replies",
                embedded=not env.target.shared_proxy_server,
            )
        ]

    def restore(self, record: dict[str, Any]) -> Action:
        return tls_actions.restore_action(record)


EXPIRED_CERT = CertFault("tls.expired-cert", BadKind.EXPIRED, "the certificate has expired")
NOT_YET_VALID = CertFault(
    "tls.not-yet-valid", BadKind.NOT_YET_VALID, "the certificate is not yet valid"
)
UNTRUSTED_CA = CertFault(
    "tls.untrusted-ca", BadKind.UNTRUSTED, "the certificate is signed by an untrusted CA"
)
HOSTNAME_MISMATCH = CertFault(
    "tls.hostname-mismatch",
    BadKind.HOSTNAME_MISMATCH,
    "the certificate names another host",
    MismatchParams,
)
HANDSHAKE_STALL = HandshakeStall()

if TYPE_CHECKING:
    from chaos.faults.base import FaultType

    _CONFORMS: list[FaultType] = [EXPIRED_CERT, HANDSHAKE_STALL]
