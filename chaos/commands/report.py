"""`pipechaos report`: render a run's reports again, or a trend over many runs."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def main(args: argparse.Namespace) -> int:
    from chaos.report.cli_report import cmd_report

    return int(cmd_report(args))
