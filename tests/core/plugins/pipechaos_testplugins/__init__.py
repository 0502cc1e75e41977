"""Plugins for the runner's own tests: they touch only files, so every effect is visible.

Registered through ../pipechaos_testplugins-0.dist-info/entry_points.txt: putting the
`plugins` folder on PYTHONPATH registers them, no install needed.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from chaos.faults.base import FaultEnv, FaultNotEffective, FaultParams
from chaos.platforms.base import PlatformError, Pod
from chaos.probes.base import ProbeEnv, ProbeError


def _log(directory: Path, line: dict[str, Any]) -> None:
    with (directory / "actions.log").open("a", encoding="utf-8") as f:
        f.write(json.dumps({**line, "pid": os.getpid(), "t": time.time_ns()}) + "\n")


class MarkerAction:
    """apply creates a marker file; revert removes it; both are logged with the pid."""

    fault = "test.marker"

    def __init__(
        self,
        path: str,
        fail_verify: bool = False,
        fail_apply: bool = False,
        apply_delay: float = 0.0,
        pod: Pod | None = None,
    ) -> None:
        self.path = Path(path)
        self.pod = pod  # set: the action counts against safety.max_pods
        self.fail_verify = fail_verify
        self.fail_apply = fail_apply
        self.apply_delay = apply_delay

    def describe(self) -> str:
        return f"marker {self.path.name}"

    def record(self) -> dict[str, Any]:
        return {"path": str(self.path)}

    def apply(self) -> None:
        _log(self.path.parent, {"op": "apply", "path": str(self.path)})
        if self.fail_apply:
            raise OSError("refusing to apply (fail_apply)")
        self.path.write_text("applied")
        time.sleep(self.apply_delay)

    def verify(self) -> None:
        if self.fail_verify or not self.path.exists():
            raise FaultNotEffective(f"{self.path.name} not present")

    def revert(self) -> None:
        _log(self.path.parent, {"op": "revert", "path": str(self.path)})
        self.path.unlink(missing_ok=True)


class MarkerParams(FaultParams, frozen=True):
    dir: str
    count: int = 1
    fail_apply: bool = False
    fail_verify: bool = False
    apply_delay: float = 0.0
    proxy: str | None = None  # only for validation tests (unknown proxy)
    pods: bool = False  # each marker stands for a pod (safety.max_pods tests)


class MarkerFault:
    name = "test.marker"
    Params = MarkerParams
    instant = False
    description = "creates marker files while active (tests)"

    def validate(self, params: FaultParams, target: Any) -> list[str]:
        assert isinstance(params, MarkerParams)
        return [] if params.count >= 1 else ["count: must be at least 1"]

    def actions(self, params: FaultParams, env: FaultEnv) -> list[MarkerAction]:
        assert isinstance(params, MarkerParams)
        Path(params.dir).mkdir(parents=True, exist_ok=True)
        tag = env.rng.randrange(10**6)
        return [
            MarkerAction(
                str(Path(params.dir) / f"marker-{tag}-{n}-{time.time_ns()}"),
                params.fail_verify,
                params.fail_apply,
                params.apply_delay,
                Pod(name=f"marker-{n}", component="marker", index=n) if params.pods else None,
            )
            for n in range(params.count)
        ]

    def restore(self, record: dict[str, Any]) -> MarkerAction:
        return MarkerAction(record["path"])


class KickFault(MarkerFault):
    name = "test.kick"
    instant = True
    description = "an instant marker (applied, verified, reverted at once)"


MARKER = MarkerFault()
KICK = KickFault()


class TestValueProbe:
    name = "test_value"
    description = "a number read from the file named by probes.settings.value_file"

    def measure(self, env: ProbeEnv) -> float:
        path = env.settings.get("value_file")
        try:
            return float(Path(str(path)).read_text().strip())
        except (OSError, ValueError) as exc:
            raise ProbeError(str(exc)) from exc


TEST_VALUE = TestValueProbe()


class TestPlatform:
    """Starts nothing; resolve returns fixed strings; up/down leave files as evidence."""

    def __init__(self, target: Any, run_dir: Path, bug: str | None) -> None:
        self.target = target
        self.run_dir = run_dir

    def up(self) -> None:
        if self.target.platform.settings.get("fail_up"):
            raise PlatformError("test platform told to fail")
        (self.run_dir / "platform-up").write_text(str(os.getpid()))

    def down(self) -> None:
        (self.run_dir / "platform-down").write_text(str(os.getpid()))

    def resolve(self, text: str) -> str:
        text = text.replace("${proxy_api}", self.proxy_api())
        return re.sub(r"\$\{[^}]*\}", "127.0.0.1:1", text)

    def proxy_api(self) -> str:
        return "http://127.0.0.1:9"

    def pods(self, selector: dict[str, str]) -> list[Pod]:
        return []


class TestObserver:
    def __init__(self, settings: dict[str, Any], platform: Any) -> None:
        self.settings = settings

    def drained(self) -> bool:
        return True

    def observe(self, run_id: str, path: Path) -> None:
        path.write_text(
            json.dumps(
                {"format": "pipechaos.observations", "version": 1, "run_id": run_id, "orders": {}}
            )
        )
