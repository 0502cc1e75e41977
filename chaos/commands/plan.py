"""`pipechaos plan`: the timed schedule of an experiment; touches nothing. Shared with `run`
(its --dry-run and the plan it starts from)."""

from __future__ import annotations

from chaos.commands.common import fail, print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any


def plan_of(args: argparse.Namespace) -> tuple[Any, int, dict[str, Any]]:
    """The checked experiment, the seed and the plan document (SpecError if bad input)."""
    from chaos.run.plan import new_seed, plan_json
    from chaos.spec.validate import check_experiment_file

    checked = check_experiment_file(args.file, args.target)
    seed = args.seed if args.seed is not None else new_seed()
    plan = plan_json(checked.experiment, seed)
    plan["target"] = checked.target.metadata.name
    return checked, seed, plan


def print_plan(plan: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(plan, indent=2)
        return
    from chaos.report.plantext import plan_lines

    print("\n".join(plan_lines(plan)))


def main(args: argparse.Namespace) -> int:
    from chaos.spec.errors import SpecError

    try:
        _, _, plan = plan_of(args)
    except SpecError as exc:
        return fail(exc, args.json)
    print_plan(plan, args.json)
    return 0
