"""One pod's container: a process in its own PID, mount and network namespaces.

`unshare --pid --fork --mount-proc --net` makes the container's command PID 1 of a fresh
PID namespace, so the kernel's PID-1 signal rules apply as in a real container. A small
shell prologue, run inside the new mount namespace before `exec`, bind-mounts the volumes
and the pod's /etc/hosts; it waits for a "go" line so the network is attached first.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from chaos.platforms.supervisor import Spawner, signal_group


def rfc3339(ns: int | None = None) -> str:
    ts = (ns if ns is not None else time.time_ns()) / 1e9
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# The host's file tree, seen at this path inside every pod before its volumes are mounted:
# volume sources and kept paths are read through it, so a volume mounted over /tmp cannot
# hide a later volume's source, or the checkout, when those live under /tmp themselves.
HOST_VIEW = Path("/run/k8s-double-host")


def hidden(keep: list[Path], dests: list[str]) -> list[Path]:
    """The kept host paths a volume mount would cover (a dest at or above them)."""
    return [k for k in keep
            if any(k == Path(d) or Path(d) in k.parents for d in dests)]


def prologue(mounts: list[tuple[Path, str, bool]], etc: dict[str, Path], init: bool,
             keep: list[Path] | None = None) -> str:
    """The shell run as PID 1 before exec: wait for the network, mount, then exec.

    Mounts read their sources through HOST_VIEW (a private recursive bind of /), and the
    `keep` paths that a volume covers are bound back over it: in a real pod the image's
    files are never hidden by a volume unless the volume is mounted on them.
    With `init` (the pod's shareProcessNamespace), the shell stays PID 1, like the pause
    container, and the command runs as its child: then it is not PID 1.
    """
    def host(path: Path) -> str:
        return shlex.quote(f"{HOST_VIEW}{Path(path).resolve()}")

    lines = ["read -r _go", f"mount --rbind / {shlex.quote(str(HOST_VIEW))}"]
    for name, source in etc.items():
        lines.append(f"mount --bind {host(source)} /etc/{name}")
    for src, dest, read_only in sorted(mounts, key=lambda m: len(Path(m[1]).parts)):
        q = shlex.quote(dest)
        lines.append(f"mkdir -p {q} && mount --bind {host(src)} {q}")
        if read_only:
            lines.append(f"mount -o remount,bind,ro {q}")
    for path in hidden(keep or [], [dest for _, dest, _ in mounts]):
        q = shlex.quote(str(path))
        lines.append(f"mkdir -p {q} && mount --bind {host(path)} {q}")
    lines.append('{ "$@" </dev/null & wait $!; }' if init else 'exec "$@" </dev/null')
    return " && ".join(lines)


class Container:
    """A running container; `exited` is set once its PID 1 is gone."""

    def __init__(self, spawner: Spawner, argv: list[str], env: dict[str, str], cwd: Path,
                 log: Path, mounts: list[tuple[Path, str, bool]], etc: dict[str, Path],
                 init: bool = False, keep: list[Path] | None = None) -> None:
        HOST_VIEW.mkdir(parents=True, exist_ok=True)
        wrapped = ["unshare", "--pid", "--fork", "--mount-proc", "--net", "--kill-child",
                   "--", "sh", "-c", prologue(mounts, etc, init, keep), "sh", *argv]
        self.log = log
        self.started_ns = time.time_ns()
        self.proc = spawner.popen(wrapped, cwd=cwd, env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.init = init
        self.exited = threading.Event()
        self.exit_code: int | None = None
        self.pid1 = self._child(self.proc.pid)
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"log-{log.name}")
        self._reader.start()

    @staticmethod
    def _child(pid: int, timeout: float = 5.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                if kids:
                    return int(kids[0])
            time.sleep(0.002)
        raise OSError(f"unshare {pid} started no child")

    def main_pid(self) -> int:
        """The host pid of the container's command: PID 1, or the init's child."""
        return self._child(self.pid1) if self.init else self.pid1

    @property
    def netns_pid(self) -> int:
        """The unshare process: it lives in the pod's network namespace."""
        return self.proc.pid

    def go(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.write(b"go\n")
            self.proc.stdin.close()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with open(self.log, "ab", buffering=0) as out:
            for line in self.proc.stdout:
                out.write(rfc3339().encode() + b" " + line)
        code = self.proc.wait()
        self.exit_code = 128 - code if code < 0 else code
        self.exited.set()

    def signal(self, sig: int) -> None:
        """Signal the container's main process from outside the namespace, as the runtime
        does (PID 1 of the pod unless the pod shares its process namespace)."""
        with contextlib.suppress(ProcessLookupError, OSError):
            os.kill(self.main_pid() if sig != signal.SIGKILL else self.pid1, sig)

    def kill(self) -> None:
        """SIGKILL PID 1 (the kernel then kills the whole PID namespace) and unshare."""
        self.signal(signal.SIGKILL)
        signal_group(self.proc.pid, signal.SIGKILL)

    def running(self) -> bool:
        return not self.exited.is_set()
