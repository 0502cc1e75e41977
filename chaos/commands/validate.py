"""`pipechaos validate`: check experiment and target files; exit 2 on any problem."""

from __future__ import annotations

import sys

from chaos.commands.common import USAGE_ERROR, print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any


def main(args: argparse.Namespace) -> int:
    from chaos.spec.errors import SpecError
    from chaos.spec.validate import check_experiment_file, check_target_file, kind_of

    results: list[dict[str, Any]] = []
    for path in args.files:
        try:
            if kind_of(path) == "Target":
                check_target_file(path)
            else:
                check_experiment_file(path, args.target)
            results.append({"file": str(path), "ok": True, "errors": []})
        except SpecError as exc:
            results.append(
                {"file": str(path), "ok": False, "errors": [str(p) for p in exc.problems]}
            )
    bad = [r for r in results if not r["ok"]]
    if args.json:
        print_json({"ok": not bad, "files": results})
    else:
        for r in results:
            if r["ok"]:
                print(f"{r['file']}: ok")
            else:
                sys.stderr.write("\n".join(r["errors"]) + "\n")
    return USAGE_ERROR if bad else 0
