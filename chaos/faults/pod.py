"""Pod faults: `pod.kill`, `pod.pause`, `pod.crash` against any pod, the broker included.

Victims are drawn with `env.rng` from `platform.pods(selector)` (sorted by name), so a
replay with the same seed picks the same slots. Each victim is one Action whose record
holds its name and pid, enough for `pipechaos rollback` to SIGCONT a paused process.

One module per concept: pod_select.py (parameters and victims), pod_ref.py (the record
and liveness), pod_kill.py, pod_pause.py, pod_crash.py. This module keeps the names the
entry points (`chaos.faults.pod:KILL` ...) and callers import.
"""

from __future__ import annotations

from chaos.faults.pod_crash import CRASH, CrashAction, CrashParams, CrashPoint, PodCrash
from chaos.faults.pod_kill import KILL, KillAction, KillParams, PodKill
from chaos.faults.pod_pause import PAUSE, PauseAction, PauseParams, PodPause
from chaos.faults.pod_ref import alive, gone, pod_from, pod_record, process_state
from chaos.faults.pod_select import (
    Selection,
    choose,
    labels_of,
    matching,
    pods_at_most,
    selection_errors,
)

__all__ = [
    "CRASH", "KILL", "PAUSE", "CrashAction", "CrashParams", "CrashPoint", "KillAction",
    "KillParams", "PauseAction", "PauseParams", "PodCrash", "PodKill", "PodPause",
    "Selection", "alive", "choose", "gone", "labels_of", "matching", "pod_from",
    "pod_record", "pods_at_most", "process_state", "selection_errors",
]
