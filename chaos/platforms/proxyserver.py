"""The target's proxy server: the embedded one (a subprocess) or a real Toxiproxy by URL.

Both speak the Toxiproxy HTTP API, so the same client (`chaos.proxy.client`) waits for
`/version`, creates the target's proxies with `/populate` and deletes those it created from a
shared server at teardown (or `pipechaos rollback`, from the journal, if the run died).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from chaos.platforms.base import PlatformError
from chaos.platforms.reaper import Reaper
from chaos.platforms.supervisor import Spawner, signal_group
from chaos.proxy.client import ProxyNotFound, ToxiproxyClient, ToxiproxyError
from chaos.run import journal as jr


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


def delete(base_url: str, names: list[str]) -> list[str]:
    """Remove proxies from a shared server, best effort; the names now gone (deleted, or
    not there), not those the server could not be asked about."""
    gone: list[str] = []
    with ToxiproxyClient(base_url, timeout=5.0) as client:
        for name in names:
            try:
                client.delete_proxy(name)
            except ProxyNotFound:
                pass
            except ToxiproxyError:
                continue
            gone.append(name)
    return gone


class SharedServer:
    """The target's proxies on a proxy server we did not start (`proxy_server: {url}`).

    Which of them the run creates is journaled (fsynced) before they exist, so that
    `pipechaos rollback` deletes them when the run dies, as stop() does otherwise. Proxies of
    the same name the server already had are the run's to use, not to delete.
    """

    def __init__(self, url: str, proxies: list[dict[str, Any]], journal: Path) -> None:
        self.url = url
        self._proxies = proxies
        self._journal = journal
        self.created: list[str] = []

    def start(self) -> None:
        wait_api(self.url, 5.0, None)
        with ToxiproxyClient(self.url, timeout=10.0) as client:
            try:
                found = set(client.proxies())
            except ToxiproxyError as exc:
                raise PlatformError(f"proxy server {self.url}: {exc}") from None
        self.created = [p["name"] for p in self._proxies if p["name"] not in found]
        if self.created:
            self._journal.parent.mkdir(parents=True, exist_ok=True)
            jr.append(self._journal, jr.PROXIES_CREATED, url=self.url, names=self.created)
        populate(self.url, self._proxies)

    def stop(self) -> None:
        gone = delete(self.url, self.created)
        if gone:
            jr.append(self._journal, jr.PROXIES_DELETED, url=self.url, names=gone)
        self.created = [n for n in self.created if n not in gone]


class EmbeddedServer:
    """The embedded proxy server, restarted (same API port, proxies re-created) if it dies.

    Toxics that faults had added are gone after a restart, as with a restarted Toxiproxy;
    their reverts then find nothing to remove.
    """

    def __init__(
        self, spawner: Spawner, port: int, log: Path, cwd: Path, env: dict[str, str],
        proxies: list[dict[str, Any]], reaper: Reaper | None,
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._args = (spawner, port, log, cwd, env)
        self._log = log
        self._proxies = proxies
        self._reaper = reaper
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        """Start, wait for the API, create the proxies; then watch it in a thread."""
        self._launch()
        self._thread = threading.Thread(target=self._watch, name="proxy-server", daemon=True)
        self._thread.start()

    def _launch(self) -> None:
        with self._lock:
            if self._stop.is_set():
                raise PlatformError("proxy server is stopping")
            self._proc = proc = start_embedded(*self._args)
        if self._reaper is not None:
            self._reaper.watch(proc.pid)
        wait_api(self.url, 20.0, proc)
        populate(self.url, self._proxies)

    def _watch(self) -> None:
        backoff = 0.2
        while True:
            proc = self._proc
            assert proc is not None
            proc.wait()
            signal_group(proc.pid, signal.SIGKILL)
            if self._reaper is not None:
                self._reaper.forget(proc.pid)
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, 5.0)
            self.restarts += 1
            with contextlib.suppress(OSError), open(self._log, "a") as log:
                print(f"pipechaos: proxy server exited ({proc.returncode}); restarting",
                      file=log)
            try:
                self._launch()
            except (PlatformError, OSError, RuntimeError):
                if self._proc is not None and self._proc.poll() is None:
                    signal_group(self._proc.pid, signal.SIGKILL)
                continue

    def stop(self, grace_s: float) -> None:
        with self._lock:
            self._stop.set()
            proc = self._proc
        if proc is not None:
            signal_group(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace_s)
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            if self._reaper is not None:
                self._reaper.forget(proc.pid)
        if self._thread is not None:
            self._thread.join(timeout=grace_s + 25)
