"""`pod.kill`: SIGKILL (or SIGTERM, then SIGKILL after `grace`) the chosen pods; the
platform restarts them, and verify waits for the replacement."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from msgspec import Meta

from chaos.faults.base import Action, FaultEnv, FaultNotEffective, FaultParams
from chaos.faults.pod_ref import gone, ident, need_platform, pod_from, pod_record
from chaos.faults.pod_select import Selection, pods_at_most, selection_errors, victims
from chaos.platforms.base import PlatformError, Pod
from chaos.spec.units import Duration

if TYPE_CHECKING:
    from chaos.platforms.base import Platform
    from chaos.spec.models import TargetSpec


class KillParams(Selection, kw_only=True, frozen=True):
    signal: Literal["KILL", "TERM"] = "KILL"
    grace: Annotated[Duration, Meta(description="TERM: SIGKILL after this long")] = 5.0



class KillAction:
    fault = "pod.kill"

    def __init__(self, pod: Pod, params: dict[str, Any], platform: Platform | None) -> None:
        self.pod, self.params, self.platform = pod, params, platform
        self.replacement: Pod | None = None

    def describe(self) -> str:
        return f"pod.kill {self.pod.name} ({ident(self.pod)}) with SIG{self.params['signal']}"

    def record(self) -> dict[str, Any]:
        return {**pod_record(self.pod), **self.params}

    def apply(self) -> None:
        platform = need_platform(self.platform, "pod.kill")
        try:
            platform.kill(self.pod, self.params["signal"], self.params["grace_s"])
        except PlatformError as exc:
            raise FaultNotEffective(f"pod.kill {self.pod.name}: {exc}") from None

    def verify(self) -> None:
        platform = need_platform(self.platform, "pod.kill")
        if not gone(self.pod.pid):
            raise FaultNotEffective(f"pod {self.pod.name} (pid {self.pod.pid}) is still alive")
        if not self.params["restarts"]:
            return
        try:
            self.replacement = platform.wait_replacement(self.pod, self.params["timeout_s"])
        except PlatformError as exc:
            raise FaultNotEffective(str(exc)) from None

    def revert(self) -> None:
        """Nothing to undo: the platform restarts the pod by itself."""


class PodKill:
    name = "pod.kill"
    Params: type[FaultParams] = KillParams
    instant = True
    description = "kill pods (SIGKILL, or SIGTERM then SIGKILL after grace); they restart"

    def validate(self, params: FaultParams, target: TargetSpec) -> list[str]:
        assert isinstance(params, KillParams)
        return selection_errors(params, target)

    def pods_at_most(self, params: FaultParams, target: TargetSpec) -> int:
        assert isinstance(params, KillParams)
        return pods_at_most(params, target)

    def actions(self, params: FaultParams, env: FaultEnv) -> list[Action]:
        assert isinstance(params, KillParams)
        policies = {c.name: c.restart.policy for c in env.target.components}
        return [
            KillAction(pod, {"signal": params.signal, "grace_s": params.grace,
                             "timeout_s": params.timeout,
                             "restarts": policies.get(pod.component, "always") == "always"},
                       env.platform)
            for pod in victims(params, env)
        ]

    def restore(self, record: dict[str, Any]) -> Action:
        params = {k: record[k] for k in ("signal", "grace_s", "timeout_s", "restarts")}
        return KillAction(pod_from(record), params, None)



KILL = PodKill()
