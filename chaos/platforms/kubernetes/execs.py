"""pod.pause through `pods/exec`: find the container's main process, SIGSTOP/SIGCONT it,
read its state back.

A signal sent from inside a container to its PID 1 is ignored unless PID 1 installed a
handler, and SIGSTOP cannot be handled: so the main process must not be PID 1. It is the
oldest child of PID 1 when the program runs under an init (`tini -g --`) or the pod sets
`shareProcessNamespace: true` (PID 1 is then the pause container). Processes started by
exec have a parent outside the PID namespace (PPid 0) and are never chosen.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from chaos.platforms.base import PlatformError, Pod
from chaos.platforms.kubernetes.client import ApiException, reason

if TYPE_CHECKING:
    from chaos.platforms.kubernetes.client import Cluster

NO_INIT = (
    "SIGSTOP sent from inside a container to its PID 1 is ignored: run the program under an "
    "init such as tini, or set shareProcessNamespace: true in the pod spec"
)

# prints "<pid> <state letter>" of the oldest child of PID 1, or "none"
_FIND = (
    'm=""; for d in /proc/[0-9]*; do n=${d#/proc/}; [ "$n" = 1 ] && continue; '
    'p=$(sed -n "s/^PPid:[[:space:]]*//p" "$d/status" 2>/dev/null); '
    '[ "$p" = 1 ] || continue; if [ -z "$m" ] || [ "$n" -lt "$m" ]; then m=$n; fi; done; '
    'if [ -z "$m" ]; then echo none; exit 0; fi; '
)
_STATE = 's=$(sed -n "s/^State:[[:space:]]*\\([A-Za-z]\\).*/\\1/p" /proc/$m/status); echo "$m $s"'


def run(cluster: Cluster, pod: Pod, script: str, timeout_s: float = 10.0) -> str:
    """Run `sh -c script` in the pod's container; its stdout, or PlatformError."""
    assert pod.namespace is not None
    try:
        ws = cluster.exec_stream(pod.namespace, pod.name, pod.container, ["sh", "-c", script])
    except ApiException as exc:
        raise PlatformError(f"exec in pod {pod.name}: {reason(exc)}") from None
    except Exception as exc:  # websocket errors carry no common base class
        raise PlatformError(f"exec in pod {pod.name}: {type(exc).__name__}: {exc}") from None
    try:
        ws.run_forever(timeout=timeout_s)
        out, err = ws.read_stdout() or "", ws.read_stderr() or ""
        code = ws.returncode
    finally:
        ws.close()
    if code not in (0, None):
        raise PlatformError(f"exec in pod {pod.name} exited {code}: {err.strip()[:200]}")
    return str(out)


def _parse(pod: Pod, text: str) -> tuple[int, str]:
    words = text.split()
    if not words or words[0] == "none":
        raise PlatformError(f"pod {pod.name} container {pod.container}: {NO_INIT}")
    if len(words) < 2 or not words[0].isdigit():
        raise PlatformError(f"pod {pod.name}: cannot read its main process ({text.strip()!r})")
    return int(words[0]), words[1]


def main_process(cluster: Cluster, pod: Pod) -> tuple[int, str]:
    """(pid inside the pod, state letter) of the container's main process."""
    return _parse(pod, run(cluster, pod, _FIND + _STATE))


def signal_main(cluster: Cluster, pod: Pod, signal: str, want: str,
                timeout_s: float = 5.0) -> int:
    """Send STOP/CONT/HUP to the main process; wait until its state letter is in `want`
    (empty: do not wait). Returns its pid inside the pod."""
    pid, state = _parse(pod, run(cluster, pod, _FIND + f"kill -{signal} $m; " + _STATE))
    deadline = time.monotonic() + timeout_s
    while want and state not in want:
        if time.monotonic() > deadline:
            raise PlatformError(f"pod {pod.name}: main process {pid} is in state {state} "
                                f"after SIG{signal} (wanted {want})")
        time.sleep(0.1)
        pid, state = main_process(cluster, pod)
    return pid
