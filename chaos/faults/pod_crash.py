"""`pod.crash`: arm a crash point through the pod's admin API; the pod SIGKILLs itself
there on its next message, and the platform restarts it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from msgspec import Meta

from chaos.faults.base import Action, FaultEnv, FaultNotEffective, FaultParams
from chaos.faults.pod_ref import alive, gone, need_platform, pod_from, pod_record
from chaos.faults.pod_select import (
    Selection,
    matching,
    pods_at_most,
    selection_errors,
    victims,
)
from chaos.platforms.base import PlatformError, Pod
from chaos.spec.units import Duration

if TYPE_CHECKING:
    from chaos.platforms.base import Platform
    from chaos.spec.models import TargetSpec

CrashPoint = Literal["before-effects", "after-effects-before-ack", "after-ack",
                     "after-wal-before-xadd", "after-ack-before-wal", "after-xadd"]


class CrashParams(Selection, kw_only=True, frozen=True):
    point: CrashPoint
    port: Annotated[str, Meta(description="the named port serving the crash-point API")] = "admin"
    timeout: Annotated[Duration, Meta(description="how long verify waits for the crash")] = 10.0



class CrashAction:
    fault = "pod.crash"

    def __init__(self, pod: Pod, params: dict[str, Any], platform: Platform | None) -> None:
        self.pod, self.params, self.platform = pod, params, platform
        self.replacement: Pod | None = None

    def describe(self) -> str:
        return f"pod.crash {self.pod.name}: SIGKILL itself at {self.params['point']}"

    def record(self) -> dict[str, Any]:
        return {**pod_record(self.pod), **self.params}

    def apply(self) -> None:
        import httpx  # here, not at the top: `pipechaos validate` stays fast

        platform = need_platform(self.platform, "pod.crash")
        try:
            url = platform.admin_url(self.pod, self.params["port"]) + "/crash"
            response = httpx.post(url, json={"point": self.params["point"]}, timeout=5.0)
        except (PlatformError, httpx.HTTPError) as exc:
            raise FaultNotEffective(f"pod.crash {self.pod.name}: cannot arm: {exc!r}") from None
        if response.status_code >= 300:
            raise FaultNotEffective(
                f"pod.crash {self.pod.name}: POST {url} answered HTTP {response.status_code}"
            )

    def verify(self) -> None:
        platform = need_platform(self.platform, "pod.crash")
        try:
            self.replacement = platform.wait_replacement(self.pod, self.params["timeout_s"])
        except PlatformError:
            raise FaultNotEffective(
                f"pod {self.pod.name} armed at {self.params['point']} did not crash and come "
                f"back within {self.params['timeout_s']:g}s (no message reached it?)"
            ) from None
        if not gone(self.pod.pid):
            raise FaultNotEffective(f"pod {self.pod.name} (pid {self.pod.pid}) is still alive")

    def revert(self) -> None:
        """A crash point that fired is spent (the platform restarted the pod); one that
        did not (verify timed out, or the run stopped first) is disarmed, so the pod does
        not die later outside the experiment. Without a platform (rollback after SIGKILL)
        the local pods died with their run."""
        if self.platform is None or not alive(self.platform, self.pod):
            return
        import httpx

        try:
            url = self.platform.admin_url(self.pod, self.params["port"]) + "/crash"
            httpx.delete(url, timeout=5.0).raise_for_status()
        except (PlatformError, httpx.HTTPError) as exc:
            if alive(self.platform, self.pod):  # it may have crashed: then nothing is armed
                raise FaultNotEffective(
                    f"pod.crash {self.pod.name}: cannot disarm: {exc!r}"
                ) from None



class PodCrash:
    name = "pod.crash"
    Params: type[FaultParams] = CrashParams
    instant = True
    description = "arm a crash point: the pod SIGKILLs itself there on its next message"

    def validate(self, params: FaultParams, target: TargetSpec) -> list[str]:
        assert isinstance(params, CrashParams)
        errors = selection_errors(params, target)
        for comp in matching(target, params.selector):
            if params.port not in comp.ports:
                errors.append(
                    f"port: component {comp.name!r} has no port {params.port!r} "
                    f"(crash points need its admin API)"
                )
        return errors

    def pods_at_most(self, params: FaultParams, target: TargetSpec) -> int:
        assert isinstance(params, CrashParams)
        return pods_at_most(params, target)

    def actions(self, params: FaultParams, env: FaultEnv) -> list[Action]:
        assert isinstance(params, CrashParams)
        settings = {"point": params.point, "port": params.port, "timeout_s": params.timeout}
        return [CrashAction(pod, settings, env.platform) for pod in victims(params, env)]

    def restore(self, record: dict[str, Any]) -> Action:
        params = {k: record[k] for k in ("point", "port", "timeout_s")}
        return CrashAction(pod_from(record), params, None)



CRASH = PodCrash()
