"""`pipechaos rollback`: revert what a dead run left applied."""

from __future__ import annotations

import sys
from pathlib import Path

from chaos.commands.common import USAGE_ERROR, print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def main(args: argparse.Namespace) -> int:
    from chaos.run.rollback import RollbackError, rollback, unfinished

    dirs = [args.run_dir] if args.run_dir else unfinished(Path("runs"))
    reports = []
    try:
        for d in dirs:
            reports.append(rollback(d))
    except RollbackError as exc:
        sys.stderr.write(f"pipechaos: {exc}\n")
        return USAGE_ERROR
    if args.json:
        print_json([r.to_json() for r in reports])
    elif not reports:
        print("no unfinished runs under runs/")
    for r in reports if not args.json else []:
        print(
            f"{r.run_dir}: "
            + (
                r.skipped
                or f"reverted {len(r.reverted)} action(s)"
                + (f", {len(r.failed)} FAILED" if r.failed else "")
                + (
                    f", deleted {len(r.deleted_proxies)} proxy(ies) it created"
                    if r.deleted_proxies else ""
                )
            )
        )
        for f in r.failed:
            print(f"  failed: {f}")
    return 3 if any(r.failed for r in reports) else 0
