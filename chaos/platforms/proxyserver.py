"""The target's proxy server: the embedded one (a subprocess) or a real Toxiproxy by URL.

Both speak the Toxiproxy HTTP API, so the same client (`chaos.proxy.client`) waits for
`/version`, creates the target's proxies with `/populate` and deletes them from a shared
server at teardown.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from chaos.platforms.base import PlatformError
from chaos.platforms.supervisor import Spawner
from chaos.proxy.client import ToxiproxyClient, ToxiproxyError


def wait_api(base_url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None) -> None:
    """Block until GET /version answers; PlatformError on timeout or early exit."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with ToxiproxyClient(base_url, timeout=1.0) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise PlatformError(f"proxy server exited with code {proc.returncode}")
            try:
                client.version()
                return
            except ToxiproxyError as exc:
                last = str(exc)
            time.sleep(0.05)
    raise PlatformError(f"proxy server at {base_url} not reachable after {timeout_s:g}s ({last})")


def start_embedded(
    spawner: Spawner, port: int, log: Path, cwd: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """`python -m chaos.proxy --host 127.0.0.1 --port N`, logging to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return spawner.popen(
            [sys.executable, "-m", "chaos.proxy", "--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def populate(base_url: str, proxies: list[dict[str, Any]]) -> None:
    """Create (or replace) the proxies; PlatformError with the server's reason."""
    if not proxies:
        return
    with ToxiproxyClient(base_url, timeout=10.0) as client:
        try:
            client.populate(proxies)
        except ToxiproxyError as exc:
            raise PlatformError(f"proxy server {base_url}: populate failed: {exc}") from None


def delete(base_url: str, names: list[str]) -> None:
    """Remove our proxies from a shared server (best effort: it may be gone already)."""
    with ToxiproxyClient(base_url, timeout=5.0) as client:
        for name in names:
            try:
                client.delete_proxy(name)
            except ToxiproxyError:
                continue
