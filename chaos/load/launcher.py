"""Starts Locust as subprocesses for the load window and collects what they recorded.

The runner calls this; it must never import locust or gevent (gevent monkey-patches the
whole process, and importing kubernetes or requests first crashes it), so Locust always runs
as `python -m locust` with its settings in run_dir/load/settings.json.  users = 1: one local
Locust process; users = N > 1: a Locust master plus N workers on loopback, which share no
directory with it (settings, history and the rest travel as Locust messages). With
PIPECHAOS_LOAD_WORKERS=remote the master listens on PIPECHAOS_LOAD_MASTER_PORT (default 5557)
on every interface and starts no worker: N `pipechaos load-worker` processes elsewhere (the
cluster's Indexed Job pods) connect to it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import orjson

from chaos.load.history import read_history
from chaos.load.rates import merge_rates
from chaos.load.settings import (
    ENV_INDEX,
    ENV_SETTINGS,
    LoadPaths,
    LoadSettings,
    write_atomic,
)
from chaos.load.stats import summarize
from chaos.spec.models import Load

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
ENV_WORKERS = "PIPECHAOS_LOAD_WORKERS"  # "remote": workers come from elsewhere
ENV_MASTER_PORT = "PIPECHAOS_LOAD_MASTER_PORT"
DEFAULT_MASTER_PORT = 5557
_GO_MARGIN_NS = 200_000_000  # time for every process to see go.json before t0


def _per_process_files(paths: LoadPaths) -> tuple[Any, ...]:
    return (paths.ready, paths.done, paths.error, paths.rates)


class LoadError(RuntimeError):
    """A load process died or never became ready: the run ends with exit 3."""


class LoadGenerator:
    def __init__(
        self,
        load: Load,
        publisher_type: str,
        publisher_settings: dict[str, Any],
        run_dir: Path,
        run_id: str,
        seed: int,
        *,
        ready_timeout_s: float = 60.0,
        python: str = sys.executable,
    ) -> None:
        self.load = load
        self.paths = LoadPaths(run_dir.absolute())  # Locust runs with cwd = run_dir
        self.settings = LoadSettings(
            run_id=run_id,
            seed=seed,
            rate=load.rate,
            duration=load.duration,
            ramp=load.ramp,
            poison=load.poison,
            processes=load.users,
            publisher_type=publisher_type,
            publisher_settings=dict(publisher_settings),
            payload=dict(load.payload),
        )
        self.ready_timeout_s = ready_timeout_s
        self.python = python
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []
        self.t0: int | None = None
        self._stopping = False
        self._stats: dict[str, Any] | None = None
        self.remote = os.environ.get(ENV_WORKERS, "") == "remote"
        self._worker_cwd: str | None = None  # an empty directory: workers share no files

    @property
    def pids(self) -> dict[str, int]:
        """Role ("0", "master", "worker-1", ...) -> pid of each Locust process."""
        return {role: p.pid for role, p in self.procs.items()}

    # ------------------------------------------------------------ runner API

    def start(self) -> int:
        """Start Locust headless, wait until every process is ready; returns t0 (epoch ns)."""
        if self.procs:
            raise LoadError("load generator already started")
        paths = self.paths
        paths.load_dir.mkdir(parents=True, exist_ok=True)
        paths.history_dir.mkdir(parents=True, exist_ok=True)
        if any(paths.history_dir.iterdir()):
            raise LoadError(f"{paths.history_dir} already holds a history: use a fresh run dir")
        n = self.settings.processes
        stale = [paths.go, paths.stop, *(f(k) for k in range(n) for f in _per_process_files(paths))]
        for path in stale:
            path.unlink(missing_ok=True)
        try:
            write_atomic(paths.settings, self.settings.to_json())
        except TypeError as e:
            raise LoadError(f"publisher settings cannot be handed to Locust: {e}") from None
        try:
            self._spawn_all()
            self._wait_ready()
        except BaseException:
            self.close()
            raise
        t0 = time.time_ns() + _GO_MARGIN_NS
        write_atomic(paths.go, orjson.dumps({"t0": t0}))
        time.sleep(max(0.0, (t0 - time.time_ns()) / 1e9))
        self.t0 = t0
        return t0

    def check(self) -> None:
        """Raise LoadError if a load process died or gave up."""
        if self._stopping:
            return
        for k in range(self.settings.processes):
            error = self.paths.error(k)
            if error.exists():
                reason = error.read_text(errors="replace").splitlines()[:1] or ["unknown"]
                raise LoadError(f"load process {k} failed: {reason[0]}")
        for role, proc in self.procs.items():
            code = proc.poll()
            if code is not None:
                log = self.paths.log(role)
                raise LoadError(f"load process {role} exited with code {code} (see {log})")

    def published(self) -> int:
        """Publishes acknowledged so far (the processes' per-second files, whole seconds
        only): the live view's counter, never the verdict's."""
        rows = merge_rates(self.paths.rates(k) for k in range(self.settings.processes))
        return sum(int(r.get("ok", 0)) for r in rows)

    def stop(self, timeout_s: float) -> dict[str, Any]:
        """Stop offering, wait up to timeout_s for in-flight publishes, end Locust; stats."""
        if self._stats is not None:
            return self._stats
        if self.t0 is None:
            self.close()
            return {}
        self._stopping = True
        stopped_at = time.time_ns()
        write_atomic(self.paths.stop, orjson.dumps({"timeout_s": timeout_s}))
        deadline = time.monotonic() + timeout_s + 5.0
        while time.monotonic() < deadline and not self._all_done():
            if all(p.poll() is not None for p in self.procs.values()):
                break
            time.sleep(0.02)
        self.close()
        done = self._done_files()
        window_s = min(self.load.duration, (stopped_at - self.t0) / 1e9)
        per_second = merge_rates(self.paths.rates(k) for k in range(self.settings.processes))
        history = read_history(self.paths.run_dir)
        stats = summarize(history, per_second, done, self.t0, window_s, self.settings.processes)
        stats["processes"] = {
            role: {"pid": p.pid, "exit_code": p.returncode} for role, p in self.procs.items()
        }
        write_atomic(self.paths.load_dir / "stats.json", orjson.dumps(stats))
        self._stats = stats
        return stats

    def close(self) -> None:
        """End every Locust process still running (SIGTERM, then SIGKILL); idempotent."""
        self._stopping = True
        live = [p for p in self.procs.values() if p.poll() is None]
        for p in live:
            p.send_signal(signal.SIGTERM)
        end = time.monotonic() + 5.0
        for p in live:
            try:
                p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._worker_cwd is not None:
            shutil.rmtree(self._worker_cwd, ignore_errors=True)
            self._worker_cwd = None

    # ------------------------------------------------------------ internals

    def _spawn_all(self) -> None:
        n = self.settings.processes
        if n == 1:
            self._spawn("0", 0, ["--headless", "-u", "1", "-r", "1"])
            return
        host = "0.0.0.0" if self.remote else "127.0.0.1"
        port = int(os.environ.get(ENV_MASTER_PORT, DEFAULT_MASTER_PORT)) if self.remote else (
            _free_port())  # fmt: skip
        self._spawn(
            "master",
            None,
            ["--headless", "--master", "--master-bind-host", host,
             "--master-bind-port", str(port), "--expect-workers", str(n),
             "-u", str(n), "-r", str(10 * n)],
        )  # fmt: skip
        if self.remote:
            return
        self._worker_cwd = tempfile.mkdtemp(prefix="pipechaos-worker-")
        for k in range(n):
            self._spawn(
                f"worker-{k}",
                k,
                ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
            )

    def _spawn(self, role: str, index: int | None, args: list[str]) -> None:
        env = dict(os.environ, **{ENV_SETTINGS: str(self.paths.settings)})
        cwd: Path | str = self.paths.run_dir
        if index is not None and self.settings.processes > 1:  # a worker: messages only
            del env[ENV_SETTINGS]
            env[ENV_INDEX] = str(index)
            cwd = self._worker_cwd or cwd
        elif index is not None:
            env[ENV_INDEX] = str(index)
        log = self.paths.log(role).open("ab")
        self._logs.append(log)
        argv = [self.python, "-m", "locust", "-f", str(LOCUSTFILE), "--loglevel", "WARNING"]
        self.procs[role] = subprocess.Popen(
            [*argv, "--only-summary", "--exit-code-on-error", "0", *args],  # fail/info are data
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # terminal signals go to the runner, which stops us
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        n = self.settings.processes
        while not all(self.paths.ready(k).exists() for k in range(n)):
            self.check()
            if time.monotonic() > deadline:
                raise LoadError(
                    f"load processes not ready after {self.ready_timeout_s:g}s "
                    f"(see {self.paths.load_dir}/locust-*.log)"
                )
            time.sleep(0.02)

    def _all_done(self) -> bool:
        """Every load process has reported, or is dead and never will."""
        n = self.settings.processes
        roles = ["0"] if n == 1 else [f"worker-{k}" for k in range(n)]
        if self.remote:
            roles = ["master"] * n
        return all(
            self.paths.done(k).exists() or self.procs[role].poll() is not None
            for k, role in enumerate(roles)
        )

    def _done_files(self) -> list[dict[str, Any]]:
        out = []
        for k in range(self.settings.processes):
            try:
                out.append(orjson.loads(self.paths.done(k).read_bytes()))
            except (FileNotFoundError, orjson.JSONDecodeError):
                continue
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
