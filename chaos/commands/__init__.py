"""The bodies of the `pipechaos` verbs, one module per verb (chaos/cli.py parses and
dispatches): `chaos.commands.<verb>.main(args) -> exit code`. Each imports what it needs
inside main(), so `--help` and `validate` load nothing heavy."""
