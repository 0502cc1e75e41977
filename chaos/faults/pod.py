"""Pod faults: `pod.kill`, `pod.pause`, `pod.crash` against any pod, the broker included.

Victims are drawn with `env.rng` from `platform.pods(selector)` (sorted by name), so a
replay with the same seed picks the same slots. Each victim is one Action whose record
holds its name and pid, enough for `pipechaos rollback` to SIGCONT a paused process.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import TYPE_CHECKING, Annotated, Any, Literal

from msgspec import Meta

from chaos.faults.base import Action, FaultEnv, FaultNotEffective, FaultParams
from chaos.platforms.base import PlatformError, Pod
from chaos.spec.flow import flow
from chaos.spec.names import no_match
from chaos.spec.roles import component_matches, declared_pods, pod_labels
from chaos.spec.units import Duration

if TYPE_CHECKING:
    import random

    from chaos.platforms.base import Platform
    from chaos.spec.models import Component, TargetSpec

# the reference consumer's points, then the reference producer's (docs/reference-pipeline.md)
CrashPoint = Literal["before-effects", "after-effects-before-ack", "after-ack",
                     "after-wal-before-xadd", "after-ack-before-wal", "after-xadd"]


class Selection(FaultParams, kw_only=True, frozen=True):
    selector: Annotated[
        dict[str, str], Meta(description="label: value pairs every victim carries")
    ]
    mode: Literal["one", "all", "fixed", "percent"] = "one"
    value: Annotated[float | None, Meta(description="mode fixed: a count; percent: 0-100")] = None
    timeout: Annotated[Duration, Meta(description="how long verify waits for a replacement")] = 30.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode in ("fixed", "percent") and self.value is None:
            raise ValueError(f"value: required with mode {self.mode}")
        if self.mode in ("one", "all") and self.value is not None:
            raise ValueError(f"value: only with mode fixed or percent, not {self.mode}")
        if self.mode == "fixed" and (self.value is None or self.value < 1 or self.value % 1):
            raise ValueError("value: mode fixed needs a whole count >= 1")
        if self.mode == "percent" and not (self.value is not None and 0 < self.value <= 100):
            raise ValueError("value: mode percent needs 0 < value <= 100")


class KillParams(Selection, kw_only=True, frozen=True):
    signal: Literal["KILL", "TERM"] = "KILL"
    grace: Annotated[Duration, Meta(description="TERM: SIGKILL after this long")] = 5.0


class PauseParams(Selection, kw_only=True, frozen=True):
    timeout: Annotated[
        Duration, Meta(description="how long verify waits for the pods to be stopped")
    ] = 5.0


class CrashParams(Selection, kw_only=True, frozen=True):
    point: CrashPoint
    port: Annotated[str, Meta(description="the named port serving the crash-point API")] = "admin"
    timeout: Annotated[Duration, Meta(description="how long verify waits for the crash")] = 10.0


# ---------------------------------------------------------------- selection (pure)


def labels_of(component: Component) -> dict[str, str]:
    """The labels every pod of a component carries (`index` aside: it differs per pod)."""
    return {k: v for k, v in pod_labels(component, 0).items() if k != "index"}


def matching(target: TargetSpec, selector: dict[str, str]) -> list[Component]:
    """The components with at least one declared pod (or slot 0) the selector matches."""
    return [c for c in target.components if component_matches(c, selector)]


def choose(pods: list[Pod], params: Selection, rng: random.Random) -> list[Pod]:
    """The victims among `pods` (sorted by name first, so a replay picks the same)."""
    ordered = sorted(pods, key=lambda p: p.name)
    if not ordered:
        return []
    if params.mode == "all":
        return ordered
    if params.mode == "one":
        count = 1
    elif params.mode == "fixed":
        count = int(params.value or 1)
    else:
        count = max(1, math.floor(len(ordered) * (params.value or 0) / 100))
    return sorted(rng.sample(ordered, min(count, len(ordered))), key=lambda p: p.name)


def pods_at_most(params: Selection, target: TargetSpec) -> int:
    """The most pods one occurrence can pick on this target (replicas as the file says)."""
    total = len(declared_pods(target, params.selector))
    if params.mode == "all":
        return total
    if params.mode == "one":
        return min(1, total)
    if params.mode == "fixed":
        return min(int(params.value or 1), total)
    return min(total, max(1, math.floor(total * (params.value or 0) / 100)))


def selection_errors(params: Selection, target: TargetSpec) -> list[str]:
    found = matching(target, params.selector)
    if not found:
        return [f"selector: {no_match(target, params.selector)}"]
    if not any(c.replicas for c in found):
        return [f"selector: {flow(params.selector)} matches only components with 0 replicas"]
    return []


def process_state(pid: int) -> str:
    """State letter from /proc/<pid>/stat; '' when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def gone(pid: int | None) -> bool:
    return pid is None or process_state(pid) in ("", "Z", "X")


def pod_record(pod: Pod) -> dict[str, Any]:
    """Journal form: enough to find the pod again without a run (pid, or namespace, name,
    UID, container and how to reach its platform)."""
    record: dict[str, Any] = {"pod": pod.name, "component": pod.component, "index": pod.index,
                              "labels": dict(pod.labels), "pid": pod.pid}
    for key in ("uid", "namespace", "container"):
        if getattr(pod, key) is not None:
            record[key] = getattr(pod, key)
    if pod.access:
        record["access"] = dict(pod.access)
    if pod.restarts:
        record["restarts"] = pod.restarts
    return record


def pod_from(record: dict[str, Any]) -> Pod:
    pid = record.get("pid")

    def text(key: str) -> str | None:
        value = record.get(key)
        return str(value) if value is not None else None

    return Pod(name=str(record["pod"]), component=str(record["component"]),
               index=int(record["index"]), labels=dict(record.get("labels") or {}),
               pid=pid if isinstance(pid, int) else None, uid=text("uid"),
               namespace=text("namespace"), container=text("container"),
               access={str(k): str(v) for k, v in (record.get("access") or {}).items()},
               restarts=int(record.get("restarts") or 0))


def alive(platform: Platform, pod: Pod) -> bool:
    """The very pod (same pid, or same UID) still runs."""
    if pod.pid is not None:
        return not gone(pod.pid)
    try:
        return any(p.uid == pod.uid and p.restarts == pod.restarts
                   for p in platform.pods({"component": pod.component}))
    except PlatformError:
        return False


def _ident(pod: Pod) -> str:
    """`pid 123` locally, `uid 1a2b3c4d` on a cluster."""
    return f"pid {pod.pid}" if pod.pid is not None else f"uid {(pod.uid or '?')[:8]}"


def _need(platform: Platform | None, what: str) -> Platform:
    if platform is None:
        raise FaultNotEffective(f"{what}: needs a running platform (restored from a record)")
    return platform


# ---------------------------------------------------------------- actions


class KillAction:
    fault = "pod.kill"

    def __init__(self, pod: Pod, params: dict[str, Any], platform: Platform | None) -> None:
        self.pod, self.params, self.platform = pod, params, platform
        self.replacement: Pod | None = None

    def describe(self) -> str:
        return f"pod.kill {self.pod.name} ({_ident(self.pod)}) with SIG{self.params['signal']}"

    def record(self) -> dict[str, Any]:
        return {**pod_record(self.pod), **self.params}

    def apply(self) -> None:
        platform = _need(self.platform, "pod.kill")
        try:
            platform.kill(self.pod, self.params["signal"], self.params["grace_s"])
        except PlatformError as exc:
            raise FaultNotEffective(f"pod.kill {self.pod.name}: {exc}") from None

    def verify(self) -> None:
        platform = _need(self.platform, "pod.kill")
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


class PauseAction:
    fault = "pod.pause"

    def __init__(self, pod: Pod, platform: Platform | None, timeout_s: float = 5.0) -> None:
        self.pod, self.platform, self.timeout_s = pod, platform, timeout_s

    def describe(self) -> str:
        return f"pod.pause {self.pod.name} ({_ident(self.pod)}): SIGSTOP, SIGCONT on revert"

    def record(self) -> dict[str, Any]:
        return pod_record(self.pod)

    def apply(self) -> None:
        try:
            _need(self.platform, "pod.pause").pause(self.pod)
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
                    stopped = _need(self.platform, "pod.pause").paused(self.pod)
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

        platform = _need(self.platform, "pod.crash")
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
        platform = _need(self.platform, "pod.crash")
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


# ---------------------------------------------------------------- fault types


def _victims(params: Selection, env: FaultEnv) -> list[Pod]:
    try:
        live = env.platform.pods(dict(params.selector))
    except PlatformError as exc:
        raise FaultNotEffective(str(exc)) from None
    victims = choose(live, params, env.rng)
    if not victims:
        raise FaultNotEffective(f"selector {flow(params.selector)} matches no live pod")
    return victims


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
            for pod in _victims(params, env)
        ]

    def restore(self, record: dict[str, Any]) -> Action:
        params = {k: record[k] for k in ("signal", "grace_s", "timeout_s", "restarts")}
        return KillAction(pod_from(record), params, None)


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
        return [PauseAction(pod, env.platform, params.timeout) for pod in _victims(params, env)]

    def restore(self, record: dict[str, Any]) -> Action:
        return PauseAction(pod_from(record), None)


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
        return [CrashAction(pod, settings, env.platform) for pod in _victims(params, env)]

    def restore(self, record: dict[str, Any]) -> Action:
        params = {k: record[k] for k in ("point", "port", "timeout_s")}
        return CrashAction(pod_from(record), params, None)


KILL = PodKill()
PAUSE = PodPause()
CRASH = PodCrash()
