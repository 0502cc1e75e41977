"""Known-bad variants that need more than a flag in the consumer's own code.

`dead-letter-valid`: the consumer gives up on some valid orders and dead-letters them on
their first delivery, without running the saga (every order whose id ends in
DEAD_LETTER_DIGIT: about one in ten). Dead-lettered is a terminal outcome, so only a
check that tells poison from valid orders catches it (delivery's `dead_lettered_valid`).
"""

from __future__ import annotations

DEAD_LETTER_DIGIT = "7"
WRONG_REASON = "gave up (bug dead-letter-valid)"


def dead_letters_valid(bug: str | None, order_key: str, deliveries: int) -> bool:
    """Whether the buggy consumer dead-letters this valid order now."""
    return bug == "dead-letter-valid" and deliveries <= 1 and order_key.endswith(DEAD_LETTER_DIGIT)
