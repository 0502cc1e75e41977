"""Bad serving certificates, one per certificate fault, generated at plan time.

Each is valid in every way but the one the fault is about, so a probe handshake fails
with exactly one OpenSSL verify code: expired and not-yet-valid and hostname-mismatch
certificates are signed by the deployment CA; the untrusted one by a fresh CA nobody trusts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from chaos.tls import handshake

_DAY = dt.timedelta(days=1)
WRONG_HOST = "wrong-host.pipechaos.invalid"


class BadKind(StrEnum):
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    UNTRUSTED = "untrusted"
    HOSTNAME_MISMATCH = "hostname-mismatch"

    @property
    def verify_code(self) -> int:
        return {
            BadKind.EXPIRED: handshake.EXPIRED,
            BadKind.NOT_YET_VALID: handshake.NOT_YET_VALID,
            BadKind.UNTRUSTED: handshake.UNTRUSTED,
            BadKind.HOSTNAME_MISMATCH: handshake.HOSTNAME_MISMATCH,
        }[self]


@dataclass(frozen=True)
class BadCert:
    kind: BadKind
    cert_pem: bytes
    key_pem: bytes
    summary: str  # one line for describe() and the journal


def make_bad_cert(
    kind: BadKind,
    ca_cert_pem: bytes,
    ca_key_pem: bytes,
    hosts: list[str],
    now: dt.datetime | None = None,
    wrong_host: str = WRONG_HOST,
) -> BadCert:
    """A certificate for `hosts` that fails verification only because of `kind`."""
    # cryptography is imported here, not at the top: `pipechaos validate` stays fast.
    from chaos.tls.certs import make_ca, make_server_cert

    now = now or dt.datetime.now(dt.UTC)
    if kind is BadKind.EXPIRED:
        start, end = now - 30 * _DAY, now - _DAY
        cert, key = make_server_cert(ca_cert_pem, ca_key_pem, hosts, start, end)
        return BadCert(kind, cert, key, f"expired on {end:%Y-%m-%d %H:%M}Z")
    if kind is BadKind.NOT_YET_VALID:
        start, end = now + _DAY, now + 30 * _DAY
        cert, key = make_server_cert(ca_cert_pem, ca_key_pem, hosts, start, end)
        return BadCert(kind, cert, key, f"valid only from {start:%Y-%m-%d %H:%M}Z")
    if kind is BadKind.UNTRUSTED:
        rogue_cert, rogue_key = make_ca("pipechaos untrusted CA")
        cert, key = make_server_cert(rogue_cert, rogue_key, hosts)
        return BadCert(kind, cert, key, "signed by a CA the pods do not trust")
    cert, key = make_server_cert(ca_cert_pem, ca_key_pem, [wrong_host])
    return BadCert(kind, cert, key, f"issued for {wrong_host} only")
