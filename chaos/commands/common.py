"""What the verbs share: exit codes, JSON output, printing input problems."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not `from typing`: kept out of `--help`'s start-up
if TYPE_CHECKING:
    from typing import Any

USAGE_ERROR = 2
COULD_NOT_RUN = 3


def print_json(value: Any, **options: Any) -> None:
    import json

    print(json.dumps(value, **options))


def fail(problems: Any, as_json: bool) -> int:
    """Print input problems (SpecError) and return exit 2."""
    lines = [str(p) for p in problems.problems]
    if as_json:
        print_json({"ok": False, "errors": lines})
    else:
        sys.stderr.write("\n".join(lines) + "\n")
    return USAGE_ERROR
