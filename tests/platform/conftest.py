"""Fixtures for the local platform tests: tiny targets built from tests/platform/podapp.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chaos.platforms.base import Pod
from chaos.platforms.local import LocalPlatform
from chaos.spec.models import TargetSpec
from chaos.spec.structs import decode

APP = str(Path(__file__).with_name("podapp.py"))


def component(name: str, replicas: int = 1, **extra: Any) -> dict[str, Any]:
    """A podapp component serving HTTP on port `admin` unless told otherwise."""
    base: dict[str, Any] = {
        "name": name,
        "labels": {"app": name},
        "replicas": replicas,
        "command": ["python", APP],
        "ports": ["admin"],
        "ready": {"http": "admin", "path": "/healthz", "timeout": "20s"},
        "restart": {"backoff": "100ms", "max_backoff": "1s"},
    }
    base.update(extra)
    return base


def target(*components: dict[str, Any], **extra: Any) -> TargetSpec:
    return decode(TargetSpec,
        {"apiVersion": "pipechaos/v1", "kind": "Target", "metadata": {"name": "t"},
         "components": list(components), **extra}
    )


def pod_doc(platform: LocalPlatform, pod: Pod) -> dict[str, Any]:
    """The PIPECHAOS_POD the pod received (podapp writes it to its data dir)."""
    path = platform.pods_dir / "data" / f"{pod.component}-{pod.index}" / f"pod-{pod.name}.json"
    return dict(json.loads(path.read_text()))


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def proc_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., LocalPlatform]]:
    """start(target, bug=None) -> a platform that is up; every one is downed at the end."""
    started: list[LocalPlatform] = []

    def make(spec: TargetSpec, bug: str | None = None, up: bool = True) -> LocalPlatform:
        platform = LocalPlatform(spec, tmp_path / f"run{len(started)}", bug)
        started.append(platform)
        if up:
            platform.up()
        return platform

    yield make
    for platform in started:
        platform.down()


def running_pods(run_dir: Path) -> list[int]:
    """Pids of live processes whose PIPECHAOS_POD points into run_dir (found via /proc)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            env = proc.environ()
            if str(run_dir) in env.get("PIPECHAOS_POD", "") and proc.status() != "zombie":
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found
