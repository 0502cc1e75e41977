"""`python -m chaos` is `pipechaos`."""

from chaos.cli import console

console()
