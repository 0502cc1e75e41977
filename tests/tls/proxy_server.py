"""Run the embedded proxy's server under the standard asyncio loop: `python -m
tests.tls.proxy_server PORT`.

Why not `python -m chaos.proxy`: under uvloop, `pause_reading()` called inside
`connection_made` is not honoured, so a client's first bytes (a TLS ClientHello) can reach
the link before its flows exist and are dropped. Until the proxy handles that, the TLS
tests drive the same server code on the stdlib loop.
"""

from __future__ import annotations

import asyncio
import sys

from chaos.proxy.main import serve

if __name__ == "__main__":
    sys.exit(asyncio.run(serve("127.0.0.1", int(sys.argv[1]), 1, [])))
