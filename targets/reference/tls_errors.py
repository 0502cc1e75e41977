"""Classify TLS failures towards a service, and the policy for each.

A failed handshake proves the request was never sent, so no effect was applied. Every
certificate problem (expired, not yet valid, untrusted CA, hostname mismatch) is an
operator-fixable infrastructure fault, so by default all are *transient*: the consumer
keeps the message and retries with backoff until the certificate is fixed; nothing is
lost and no order is compensated for an infrastructure fault. Setting
`tls_errors: compensate` instead treats them as a rejection of that step (the saga
compensates the steps already applied), for pipelines that prefer failing fast.

Two kinds are no certificate problem and stay transient under either policy: `handshake`
(the TLS handshake failed) and `handshake-timeout` (a connection to an https service not
established within the connect timeout: the TCP connect to a proxy is immediate, so it is
the handshake that stalled). Neither sent the request.
"""

from __future__ import annotations

import ssl

# OpenSSL X509_V_ERR_* codes
_CODES = {
    9: "not-yet-valid",
    10: "expired",
    18: "untrusted",  # self-signed leaf
    19: "untrusted",  # self-signed certificate in chain
    20: "untrusted",  # unable to get local issuer
    21: "untrusted",  # unable to verify leaf signature
    62: "hostname-mismatch",
}


NOT_CERTIFICATE = frozenset({"handshake", "handshake-timeout"})


def classify(exc: BaseException) -> str | None:
    """The kind of certificate failure behind `exc` (walking causes), or None."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        cert_error = getattr(seen, "certificate_error", None)  # aiohttp wraps the ssl error
        if isinstance(cert_error, BaseException) and cert_error is not seen:
            seen = cert_error
            continue
        if isinstance(seen, ssl.SSLCertVerificationError):
            kind = _CODES.get(getattr(seen, "verify_code", -1))
            if kind:
                return kind
            text = str(getattr(seen, "verify_message", seen)).lower()
            if "hostname" in text or "ip address mismatch" in text:
                return "hostname-mismatch"
            return "untrusted"
        if isinstance(seen, ssl.SSLError):
            return "handshake"
        seen = seen.__cause__ or seen.__context__
    return None
