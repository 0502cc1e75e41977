"""One replica slot of a component: start its process, watch it, restart it like a Deployment.

Each slot owns a thread that waits for its process; when the process exits (and the
slot is not stopping) it is restarted after an exponential backoff under a new name, with
the same ports and data directory. Every child runs in its own process group and gets
SIGKILL when the runner dies (Linux parent-death signal), so a dead runner leaves no
pods behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.platforms.base import PlatformError, Pod
from chaos.platforms.reaper import Reaper

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
RESET_AFTER_S = 10.0  # a pod that ran this long restarts with the initial backoff


def _child_setup(parent: int) -> Callable[[], None]:
    """preexec_fn: die with the parent, and die now if the parent is already gone."""

    def setup() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return setup


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to a process group; False when it no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


class Spawner:
    """Starts every child from one long-lived thread.

    The parent-death signal fires when the *thread* that forked the child ends, not the
    process; spawning from whichever thread called up() (or from a slot thread) would
    kill pods when that thread finished. This thread lives until close().
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pipechaos-spawn")

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        """subprocess.Popen in its own session, with the parent-death signal set."""

        def run() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                argv,
                start_new_session=True,
                preexec_fn=_child_setup(os.getpid()),
                **kwargs,
            )

        return self._pool.submit(run).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def process_state(pid: int) -> str:
    """The state letter of /proc/<pid>/stat (R, S, T, Z, ...); '' when gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


@dataclass
class SlotSpec:
    """Everything needed to start one slot's process, again and again."""

    component: str
    index: int
    argv: list[str]
    env: dict[str, str]
    pod: dict[str, Any]  # PIPECHAOS_POD without "name"
    labels: dict[str, str]
    cwd: Path
    log_dir: Path
    ready: Callable[[], bool]
    ready_timeout: float
    restart: bool = True
    backoff: float = 0.2
    max_backoff: float = 5.0


@dataclass
class _Running:
    name: str
    proc: subprocess.Popen[bytes]
    started_ns: int
    ready: bool = False
    exited: threading.Event = field(default_factory=threading.Event)


class Slot:
    """A supervised replica slot (thread-safe)."""

    def __init__(self, spec: SlotSpec, spawner: Spawner, reaper: Reaper | None = None) -> None:
        self.spec = spec
        self._spawner = spawner
        self._reaper = reaper
        self._cv = threading.Condition()
        self._stop = threading.Event()
        self._current: _Running | None = None
        self._paused = False
        self._thread: threading.Thread | None = None
        self.names: list[str] = []  # every name this slot has had, oldest first

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the first process and block until ready; raise PlatformError if not."""
        run = self._spawn()
        if not self._await_ready(run):
            self._kill_group(run, signal.SIGKILL)
            run.proc.wait()
            self._forget(run)
            if self._stop.is_set():
                raise PlatformError(f"pod {run.name}: stopped while starting")
            raise PlatformError(self._not_ready_reason(run))
        self._thread = threading.Thread(
            target=self._supervise, name=f"slot-{run.name}", daemon=True
        )
        self._thread.start()

    def stop(self, grace_s: float) -> None:
        """TERM the process group, KILL after `grace_s`; no restart afterwards."""
        self._stop.set()
        with self._cv:
            run = self._current
            self._cv.notify_all()
        if run is not None and run.proc.poll() is None:
            self._kill_group(run, signal.SIGTERM)
            if self._paused:
                self._kill_group(run, signal.SIGCONT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                run.proc.wait(timeout=grace_s)
        if self._thread is not None and self._thread is not threading.current_thread():
            if run is not None:
                self._kill_group(run, signal.SIGKILL)
            self._thread.join(timeout=grace_s + 15)
        with self._cv:
            last = self._current  # a restart may have raced with stop
        for each in {id(r): r for r in (run, last) if r is not None}.values():
            self._kill_group(each, signal.SIGKILL)  # leftovers of the group, too
            each.proc.wait()
            self._forget(each)

    # ------------------------------------------------------------------ queries
    def pod(self) -> Pod | None:
        """The live pod of this slot (paused counts as live, not ready), or None."""
        with self._cv:
            run = self._current
            if run is None or run.proc.poll() is not None:
                return None
            return Pod(
                name=run.name,
                component=self.spec.component,
                index=self.spec.index,
                labels=dict(self.spec.labels),
                pid=run.proc.pid,
                ready=run.ready and not self._paused,
                started_ns=run.started_ns,
            )

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Block until predicate() holds (re-checked on every state change)."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.1))
        return True

    # ------------------------------------------------------------------ actions
    def signal(self, name: str, sig: int) -> None:
        """Signal the group of the named pod; PlatformError if it is not running."""
        run = self._running(name)
        self._kill_group(run, sig)

    def kill(self, name: str, sig: int, grace_s: float) -> None:
        """Send `sig`; for anything but SIGKILL, escalate to SIGKILL after `grace_s`."""
        run = self._running(name)
        self._kill_group(run, sig)
        if self._paused:
            self._kill_group(run, signal.SIGCONT)  # a stopped process cannot handle TERM
        if sig != signal.SIGKILL and not run.exited.wait(grace_s):
            self._kill_group(run, signal.SIGKILL)
        run.exited.wait(10.0)

    def set_paused(self, name: str, paused: bool) -> None:
        run = self._running(name)
        self._kill_group(run, signal.SIGSTOP if paused else signal.SIGCONT)
        deadline = time.monotonic() + 2.0  # signal delivery is asynchronous
        while (process_state(run.proc.pid) in ("T", "t")) != paused and time.monotonic() < deadline:
            time.sleep(0.005)
        with self._cv:
            self._paused = paused
            self._cv.notify_all()

    # ------------------------------------------------------------------ internals
    def _running(self, name: str) -> _Running:
        with self._cv:
            run = self._current
        if run is None or run.name != name or run.proc.poll() is not None:
            raise PlatformError(f"pod {name} is not running")
        return run

    def _kill_group(self, run: _Running, sig: int) -> None:
        signal_group(run.proc.pid, sig)

    def _forget(self, run: _Running) -> None:
        if self._reaper is not None:
            self._reaper.forget(run.proc.pid)

    def _new_name(self) -> str:
        while True:
            name = f"{self.spec.component}-{self.spec.index}-{secrets.token_hex(2)}"
            if name not in self.names:
                return name

    def _spawn(self) -> _Running:
        if self._stop.is_set():
            raise PlatformError(f"slot {self.spec.component}-{self.spec.index} is stopping")
        name = self._new_name()
        spec = self.spec
        env = dict(spec.env)
        env["PIPECHAOS_POD"] = json.dumps({"name": name, **spec.pod})
        spec.log_dir.mkdir(parents=True, exist_ok=True)
        with open(spec.log_dir / f"{name}.log", "ab") as log:
            try:
                proc = self._spawner.popen(
                    spec.argv,
                    cwd=spec.cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            except OSError as exc:
                raise PlatformError(f"cannot start {name}: {spec.argv[0]}: {exc}") from None
        if self._reaper is not None:
            self._reaper.watch(proc.pid)
        run = _Running(name=name, proc=proc, started_ns=time.time_ns())
        with self._cv:
            self._current = run
            self._paused = False
            self.names.append(name)
            self._cv.notify_all()
        return run

    def _await_ready(self, run: _Running) -> bool:
        deadline = time.monotonic() + self.spec.ready_timeout
        while not self._stop.is_set() and run.proc.poll() is None:
            try:
                ok = self.spec.ready()
            except Exception:  # a probe that crashes means "not ready yet"
                ok = False
            if ok:
                with self._cv:
                    run.ready = True
                    self._cv.notify_all()
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return False

    def _not_ready_reason(self, run: _Running) -> str:
        code = run.proc.returncode
        state = (
            f"exited with code {code}"
            if code is not None
            else f"not ready after {self.spec.ready_timeout:g}s"
        )
        log = self.spec.log_dir / f"{run.name}.log"
        tail = ""
        with contextlib.suppress(OSError):
            lines = log.read_text(errors="replace").strip().splitlines()
            tail = f": {lines[-1]}" if lines else ""
        return f"pod {run.name} {state} (log {log}){tail}"

    def _supervise(self) -> None:
        backoff = self.spec.backoff
        while True:
            with self._cv:
                run = self._current
            assert run is not None
            run.proc.wait()
            self._kill_group(run, signal.SIGKILL)  # the container goes away as a whole
            self._forget(run)
            with self._cv:
                run.exited.set()
                self._cv.notify_all()
            if self._stop.is_set() or not self.spec.restart:
                return
            ran_s = (time.time_ns() - run.started_ns) / 1e9
            if ran_s >= RESET_AFTER_S:
                backoff = self.spec.backoff
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, self.spec.max_backoff)
            try:
                run = self._spawn()
            except PlatformError as exc:
                if not self._stop.is_set():
                    print(f"pipechaos: {exc}", file=sys.stderr)
                continue  # the loop waits on the old (exited) process, then backs off
            if not self._await_ready(run) and run.proc.poll() is None:
                self._kill_group(run, signal.SIGKILL)  # never became ready: restart it
