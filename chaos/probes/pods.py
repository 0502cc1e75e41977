"""Probe `pods_ready`: how many pods of the target are live and ready right now.

Optional `pods_selector` in the target's probes.settings narrows the count to some labels.
Its declared total (`{probe: pods_ready, min: all}`) is the number of pods the target file
declares that match that selector: the sum of their components' replicas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaos.paramdoc import param
from chaos.platforms.base import PlatformError
from chaos.probes.base import ProbeEnv, ProbeError
from chaos.spec.roles import declared_pods

if TYPE_CHECKING:
    from chaos.spec.models import TargetSpec


class PodsReady:
    name = "pods_ready"
    description = "number of live, ready pods of the target (paused pods are not ready)"
    params = (
        param("pods_selector", "{label: value}", {}, "count only the pods with these labels"),
    )

    def declared(self, target: TargetSpec, settings: dict[str, Any]) -> float:
        return float(len(declared_pods(target, _selector(settings))))

    def measure(self, env: ProbeEnv) -> float:
        selector = _selector(env.settings)
        try:
            pods = env.platform.pods(selector)
        except PlatformError as exc:
            raise ProbeError(f"pods_ready: {exc}") from None
        return float(sum(1 for pod in pods if pod.ready))


def _selector(settings: dict[str, Any]) -> dict[str, str]:
    raw = settings.get("pods_selector") or {}
    if not isinstance(raw, dict):
        raise ProbeError("pods_selector must be a mapping of label: value")
    return {str(k): str(v) for k, v in raw.items()}


PODS_READY = PodsReady()
