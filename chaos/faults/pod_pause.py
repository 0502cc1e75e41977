"""`pod.pause`: freeze the chosen pods with SIGSTOP for the duration, SIGCONT on revert
(also from a journal record alone, so `pipechaos rollback` can wake a paused process)."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Annotated, Any

from msgspec import Meta

from chaos.faults.base import Action, FaultEnv, FaultNotEffective, FaultParams
from chaos.faults.pod_ref import ident, need_platform, pod_from, pod_record, process_state
from chaos.faults.pod_select import Selection, pods_at_most, selection_errors, victims
from chaos.platforms.base import PlatformError, Pod
from chaos.spec.units import Duration

if TYPE_CHECKING:
    from chaos.platforms.base import Platform
    from chaos.spec.models import TargetSpec


class PauseParams(Selection, kw_only=True, frozen=True):
    timeout: Annotated[
        Duration, Meta(description="how long verify waits for the pods to be stopped")
    ] = 5.0



class PauseAction:
    fault = "pod.pause"

    def __init__(self, pod: Pod, platform: Platform | None, timeout_s: float = 5.0) -> None:
        self.pod, self.platform, self.timeout_s = pod, platform, timeout_s

    def describe(self) -> str:
        return f"pod.pause {self.pod.name} ({ident(self.pod)}): SIGSTOP, SIGCONT on revert"

    def record(self) -> dict[str, Any]:
        return pod_record(self.pod)

    def apply(self) -> None:
        try:
            need_platform(self.platform, "pod.pause").pause(self.pod)
        except PlatformError as exc:
            raise FaultNotEffective(f"pod.pause {self.pod.name}: {exc}") from None

    def verify(self) -> None:
        """Stopped within `timeout` (a platform may deliver SIGSTOP asynchronously)."""
        import time

        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                if self.platform is None and self.pod.pid is not None:  # restored, local
                    stopped = process_state(self.pod.pid) in ("T", "t")
                else:
                    stopped = need_platform(self.platform, "pod.pause").paused(self.pod)
            except PlatformError as exc:
                raise FaultNotEffective(f"pod.pause {self.pod.name}: {exc}") from None
            if stopped or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if not stopped:
            state = process_state(self.pod.pid) if self.pod.pid else "running"
            raise FaultNotEffective(
                f"pod {self.pod.name} (pid {self.pod.pid}) is not stopped (state {state or 'gone'})"
            )

    def revert(self) -> None:
        """SIGCONT (idempotent); without a platform (rollback), through the platform the
        record names, else straight to the recorded group."""
        if self.platform is not None:
            with contextlib.suppress(PlatformError):
                self.platform.resume(self.pod)
                return
        if self.pod.access:
            from chaos.platforms.detached import reattach

            handle = reattach(self.pod.access)
            if handle is not None:
                try:
                    handle.resume(self.pod)
                except PlatformError as exc:
                    raise FaultNotEffective(f"pod.pause {self.pod.name}: {exc}") from None
                return
        from signal import SIGCONT  # here: `validate` imports this module, not signals

        pid = self.pod.pid
        if pid is not None and process_state(pid) in ("T", "t"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, SIGCONT)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, SIGCONT)



class PodPause:
    name = "pod.pause"
    Params: type[FaultParams] = PauseParams
    instant = False
    description = "freeze pods with SIGSTOP for the duration, SIGCONT on revert"

    def validate(self, params: FaultParams, target: TargetSpec) -> list[str]:
        assert isinstance(params, PauseParams)
        return selection_errors(params, target)

    def pods_at_most(self, params: FaultParams, target: TargetSpec) -> int:
        assert isinstance(params, PauseParams)
        return pods_at_most(params, target)

    def actions(self, params: FaultParams, env: FaultEnv) -> list[Action]:
        assert isinstance(params, PauseParams)
        return [PauseAction(pod, env.platform, params.timeout) for pod in victims(params, env)]

    def restore(self, record: dict[str, Any]) -> Action:
        return PauseAction(pod_from(record), None)



PAUSE = PodPause()
