"""`pipechaos schema`: the JSON Schema of a file format."""

from __future__ import annotations

from chaos.commands.common import print_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def main(args: argparse.Namespace) -> int:
    from chaos.spec.schema import schema

    print_json(schema(args.kind), indent=2)
    return 0
