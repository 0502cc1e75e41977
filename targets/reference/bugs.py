"""Known-bad variants that need more than a flag in the consumer's own code.

`dead-letter-valid`: the consumer gives up on some valid orders and dead-letters them on
their first delivery, without running the saga (every order whose id ends in
DEAD_LETTER_DIGIT: about one in ten). Dead-lettered is a terminal outcome, so only a
check that tells poison from valid orders catches it (delivery's `dead_lettered_valid`).

`no-compensation-retry`: a compensation call (release, refund, revoke) is made once; if
it fails (the hop is partitioned) the saga is recorded compensated anyway, with the
effect never undone: the seed's "inventory service without local message table retry".
Only a fault on a service hop *while* compensations run reaches it (`saga` catches it).

`handshake-timeout-as-charged`: a charge whose TLS connection timed out before the
handshake finished is taken as made ("the answer was lost, don't charge twice"), though
a request that never got a connection was never sent: the saga completes without a
charge. Only a handshake stall reaches it (`saga` catches it).
"""

from __future__ import annotations

DEAD_LETTER_DIGIT = "7"
WRONG_REASON = "gave up (bug dead-letter-valid)"
COMPENSATE_ONCE = "no-compensation-retry"
TIMEOUT_AS_CHARGED = "handshake-timeout-as-charged"


def dead_letters_valid(bug: str | None, order_key: str, deliveries: int) -> bool:
    """Whether the buggy consumer dead-letters this valid order now."""
    return bug == "dead-letter-valid" and deliveries <= 1 and order_key.endswith(DEAD_LETTER_DIGIT)


def takes_as_charged(bug: str | None, action: str, tls_kind: str | None) -> bool:
    """Whether the buggy consumer takes this failed call as a successful charge."""
    return bug == TIMEOUT_AS_CHARGED and action == "charge" and tls_kind == "handshake-timeout"
