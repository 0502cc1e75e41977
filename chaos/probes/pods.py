"""Probe `pods_ready`: how many pods of the target are live and ready right now.

Optional `pods_selector` in the target's probes.settings narrows the count to some labels.
"""

from __future__ import annotations

from chaos.paramdoc import param
from chaos.platforms.base import PlatformError
from chaos.probes.base import ProbeEnv, ProbeError


class PodsReady:
    name = "pods_ready"
    description = "number of live, ready pods of the target (paused pods are not ready)"
    params = (
        param("pods_selector", "{label: value}", {}, "count only the pods with these labels"),
    )

    def measure(self, env: ProbeEnv) -> float:
        raw = env.settings.get("pods_selector") or {}
        if not isinstance(raw, dict):
            raise ProbeError("pods_selector must be a mapping of label: value")
        selector = {str(k): str(v) for k, v in raw.items()}
        try:
            pods = env.platform.pods(selector)
        except PlatformError as exc:
            raise ProbeError(f"pods_ready: {exc}") from None
        return float(sum(1 for pod in pods if pod.ready))


PODS_READY = PodsReady()
