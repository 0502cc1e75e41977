"""The restricted pod-security profile on every pod of both charts, for every value set."""

from __future__ import annotations

import pytest

from tests.charts.render import CASES, pod_specs, render


@pytest.mark.parametrize("chart, value_set", CASES)
def test_every_pod_is_restricted(chart: str, value_set: str) -> None:
    pods = pod_specs(render(chart, value_set))
    assert len(pods) >= (1 if chart == "pipechaos" else 6)
    for where, spec in pods:
        pod_sc = spec.get("securityContext") or {}
        assert pod_sc.get("runAsNonRoot") is True, where
        assert pod_sc.get("seccompProfile") == {"type": "RuntimeDefault"}, where
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), where
        assert not spec.get("shareProcessNamespace"), where  # tini is the init instead
        containers = spec["containers"] + spec.get("initContainers", [])
        for c in containers:
            sc = c.get("securityContext") or {}
            name = f"{where} container {c['name']}"
            assert sc.get("allowPrivilegeEscalation") is False, name
            assert sc.get("readOnlyRootFilesystem") is True, name
            assert sc.get("capabilities") == {"drop": ["ALL"]}, name
            assert sc.get("runAsNonRoot") is True, name
            assert sc.get("seccompProfile") == {"type": "RuntimeDefault"}, name
            assert "privileged" not in sc, name
            # a read-only root needs writable volumes: /tmp and the data (runs) directory
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            assert "/tmp" in mounts, name
        for volume in spec.get("volumes", []):
            assert "hostPath" not in volume, where


@pytest.mark.parametrize("chart, value_set", CASES)
def test_main_processes_run_under_tini_so_pause_stops_the_program(chart: str,
                                                                  value_set: str) -> None:
    for where, spec in pod_specs(render(chart, value_set)):
        for c in spec["containers"]:
            if c["image"].startswith("ghcr.io/shopify/toxiproxy"):
                continue  # the real Toxiproxy image: never paused
            assert c["command"][:3] == ["tini", "-g", "--"], f"{where}: {c['command']}"
