"""`python -m chaos` is `pipechaos`."""

from chaos.cli import main

raise SystemExit(main())
