"""`pipechaos init NAME --publisher P --observer O`: write a starter target and two
experiments for the user's own pipeline (chaos/commands/starter.py). Never overwrites a file
unless --force; bad input is one line and exit 2, before anything is written."""

from __future__ import annotations

import re
import sys

from chaos.commands.common import USAGE_ERROR, print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def main(args: argparse.Namespace) -> int:
    from chaos.commands.starter import files

    if not _NAME.match(args.name):
        return _error(f"NAME must be lower-case letters, digits and dashes, got {args.name!r}")
    written = {args.dir / rel: text for rel, text in files(args.name, args.publisher,
                                                          args.observer).items()}
    existing = [str(p) for p in written if p.exists()]
    if existing and not args.force:
        return _error(f"{', '.join(existing)} already exist(s); --force overwrites")
    try:
        for path, text in written.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    except OSError as exc:
        return _error(f"cannot write {exc.filename}: {exc.strerror}")
    if args.json:
        print_json({"ok": True, "files": [str(p) for p in written]})
    else:
        for path in written:
            print(f"wrote {path}")
        print(f"next: adapt the lines marked TODO, then pipechaos validate "
              f"{' '.join(map(str, written))}")
    return 0


def _error(message: str) -> int:
    sys.stderr.write(f"pipechaos init: {message}\n")
    return USAGE_ERROR
