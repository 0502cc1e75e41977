"""Probe handshakes: how the runner proves a TLS fault took effect, and that it is gone.

A probe is a fresh TCP connection plus a TLS client handshake with the deployment CA as the
only trust anchor and the server name the pods use, exactly as a consumer would connect.
Its outcome is reduced to a plain value (`HandshakeResult`) so checking it stays pure.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass

# OpenSSL X509 verify codes for the certificate faults (x509_vfy.h).
EXPIRED = 10  # X509_V_ERR_CERT_HAS_EXPIRED
NOT_YET_VALID = 9  # X509_V_ERR_CERT_NOT_YET_VALID
UNTRUSTED = 20  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
SELF_SIGNED_IN_CHAIN = 19  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: a server sending its CA
HOSTNAME_MISMATCH = 62  # X509_V_ERR_HOSTNAME_MISMATCH
IP_ADDRESS_MISMATCH = 64  # X509_V_ERR_IP_ADDRESS_MISMATCH: the same, for pods dialling an IP

CODE_NAMES = {
    EXPIRED: "certificate has expired",
    NOT_YET_VALID: "certificate is not yet valid",
    UNTRUSTED: "unable to get local issuer certificate",
    SELF_SIGNED_IN_CHAIN: "self-signed certificate in certificate chain",
    HOSTNAME_MISMATCH: "hostname mismatch",
    IP_ADDRESS_MISMATCH: "IP address mismatch",
}

# Codes that count as the expected failure: an untrusted issuer may show as 20 or 19, a
# name mismatch as 62 (DNS name) or 64 (when the pods connect to an IP address).
ACCEPTED = {
    EXPIRED: frozenset({EXPIRED}),
    NOT_YET_VALID: frozenset({NOT_YET_VALID}),
    UNTRUSTED: frozenset({UNTRUSTED, SELF_SIGNED_IN_CHAIN}),
    HOSTNAME_MISMATCH: frozenset({HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH}),
}


@dataclass(frozen=True)
class ProbeTarget:
    """Where and how to shake hands: journal-safe (plain strings and numbers)."""

    address: str  # host:port
    server_hostname: str
    ca_pem: str  # the trust anchor itself, so a record restored after a crash still probes
    timeout_s: float = 2.0

    def as_dict(self) -> dict[str, str | float]:
        return {
            "address": self.address,
            "server_hostname": self.server_hostname,
            "ca_pem": self.ca_pem,
            "timeout_s": self.timeout_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ProbeTarget:
        return cls(
            address=str(data["address"]),
            server_hostname=str(data["server_hostname"]),
            ca_pem=str(data["ca_pem"]),
            timeout_s=float(str(data.get("timeout_s", 2.0))),
        )


@dataclass(frozen=True)
class HandshakeResult:
    ok: bool
    verify_code: int | None  # set when the certificate was rejected
    timed_out: bool  # the connection or handshake did not finish within the timeout
    error: str | None  # one line, None when ok
    elapsed_s: float

    def describe(self) -> str:
        if self.ok:
            return f"handshake succeeded in {self.elapsed_s * 1000:.0f}ms"
        if self.timed_out:
            return f"handshake timed out after {self.elapsed_s:.2f}s"
        if self.verify_code is not None:
            name = CODE_NAMES.get(self.verify_code, self.error or "")
            return f"certificate rejected: verify code {self.verify_code} ({name})"
        return f"handshake failed: {self.error}"


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address must be host:port, got {address!r}")
    return host.strip("[]"), int(port)


def client_context(ca_pem: str) -> ssl.SSLContext:
    """The context a pod uses: verify the chain against the deployment CA and the hostname."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_pem)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def probe_handshake(target: ProbeTarget) -> HandshakeResult:
    """One handshake; never raises for network or TLS failures (they are the result)."""
    host, port = split_address(target.address)
    ctx = client_context(target.ca_pem)
    start = time.monotonic()

    def result(ok: bool, code: int | None, timed_out: bool, err: str | None) -> HandshakeResult:
        return HandshakeResult(ok, code, timed_out, err, time.monotonic() - start)

    try:
        with socket.create_connection((host, port), timeout=target.timeout_s) as raw:
            remaining = max(0.05, target.timeout_s - (time.monotonic() - start))
            raw.settimeout(remaining)
            with ctx.wrap_socket(raw, server_hostname=target.server_hostname):
                return result(True, None, False, None)
    except ssl.SSLCertVerificationError as exc:
        return result(False, exc.verify_code, False, exc.verify_message or str(exc))
    except TimeoutError:
        return result(False, None, True, "timed out")
    except (OSError, ssl.SSLError) as exc:
        return result(False, None, False, _one_line(exc))


def wait_for(
    target: ProbeTarget,
    accept: frozenset[int] | None,
    stall: bool,
    deadline_s: float,
    interval_s: float = 0.1,
) -> tuple[bool, HandshakeResult]:
    """Repeat probes until one shows the wanted outcome or `deadline_s` passes.

    `accept` None and not `stall`: a good handshake is wanted. A set of codes: a rejection
    with one of them. `stall`: a handshake that times out. Servers reload certificates
    asynchronously after SIGHUP, hence the polling.
    """
    end = time.monotonic() + deadline_s
    while True:
        res = probe_handshake(target)
        if matches(res, accept, stall):
            return True, res
        if time.monotonic() >= end:
            return False, res
        time.sleep(interval_s)


def matches(res: HandshakeResult, accept: frozenset[int] | None, stall: bool) -> bool:
    if stall:
        return res.timed_out
    if accept is None:
        return res.ok
    return res.verify_code in accept


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())
