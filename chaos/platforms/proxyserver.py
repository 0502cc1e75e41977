"""The target's proxy server: the embedded one (a subprocess) or a real Toxiproxy by URL.

Talks the Toxiproxy HTTP API directly (`GET /version`, `POST /populate`,
`DELETE /proxies/NAME`), so both kinds of server are handled by the same few lines.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from chaos.platforms.base import PlatformError
from chaos.platforms.supervisor import Spawner


def wait_api(base_url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None) -> None:
    """Block until GET /version answers 200; PlatformError on timeout or early exit."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise PlatformError(f"proxy server exited with code {proc.returncode}")
        try:
            response = httpx.get(f"{base_url}/version", timeout=1.0)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
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
    try:
        response = httpx.post(f"{base_url}/populate", json=proxies, timeout=10.0)
    except httpx.HTTPError as exc:
        raise PlatformError(f"proxy server {base_url}: populate failed: {exc!r}") from None
    if response.status_code >= 300:
        raise PlatformError(
            f"proxy server {base_url}: populate answered HTTP {response.status_code}: "
            f"{response.text.strip()[:200]}"
        )


def delete(base_url: str, names: list[str]) -> None:
    """Remove our proxies from a shared server (best effort: it may be gone already)."""
    for name in names:
        try:
            httpx.delete(f"{base_url}/proxies/{name}", timeout=5.0)
        except httpx.HTTPError:
            return
