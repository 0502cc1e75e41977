"""`pipechaos list`: registered faults, checks, probes, ... and their parameters."""

from __future__ import annotations

from chaos.commands.common import print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def main(args: argparse.Namespace) -> int:
    from chaos.report.listing import describe_all

    listing = describe_all()
    if args.json:
        print_json(listing, indent=2, default=str)
        return 0
    from chaos.report.listing import listing_lines

    print("\n".join(listing_lines(listing)))
    return 0
