"""Checks register their numpy-free spec; `pipechaos validate` never imports the heavy
implementations, yet validation and the run still go through the same parsing code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaos import registry
from chaos.checks.lazy import LazyCheck
from chaos.checks.model import Verdict
from chaos.checks.runner import empty_history, empty_observations
from chaos.checks.specs import DELIVERY
from tests.checks.test_runner import ALL

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {
    "numpy", "hdrh", "httpx", "locust", "gevent", "kubernetes", "matplotlib", "pydantic", "ruamel",
    "prometheus_client", "opentelemetry",
}
VALIDATE_AND_LIST = """
import json, sys
from chaos.cli import main
code = main(["validate", *sys.argv[1:]])
sys.stdout.flush()
print("MODULES " + json.dumps(sorted(sys.modules)))
raise SystemExit(code)
"""


def test_validate_of_every_library_experiment_imports_nothing_heavy() -> None:
    files = sorted(str(p) for p in (ROOT / "experiments").glob("*.yaml"))
    assert len(files) >= 5
    proc = subprocess.run(
        [sys.executable, "-c", VALIDATE_AND_LIST, *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": ok") == len(files)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES "))
    modules: list[str] = json.loads(line.removeprefix("MODULES "))
    assert "chaos.checks.specs" in modules  # the invariants were really validated
    imported = {m.split(".")[0] for m in modules} & HEAVY
    assert not imported, f"validate imported {sorted(imported)}"
    assert not [m for m in modules if m in ("chaos.checks.delivery", "chaos.checks.latency")]


@pytest.mark.parametrize("name", ALL)
def test_registered_spec_matches_the_implementation(name: str) -> None:
    lazy = registry.checks.get(name)
    assert isinstance(lazy, LazyCheck)
    impl = lazy.load()
    assert not isinstance(impl, LazyCheck)
    assert (lazy.name, lazy.description, lazy.needs) == (impl.name, impl.description,
                                                         getattr(impl, "needs", None))
    assert lazy.name == name
    for params in ({}, {"nonsense": 1}, {"within": "3o s"}, {"p99": "fast"}, {"sums": ["x"]}):
        assert lazy.validate(params) == impl.validate(params)
    assert lazy.validate({"nonsense": 1})[0].startswith("nonsense: unknown parameter")


def test_lazy_check_runs_the_implementation_on_first_call() -> None:
    fresh = LazyCheck(DELIVERY.spec, DELIVERY.target)
    assert fresh._impl is None
    verdict = fresh(empty_history(), empty_observations(), None, None, {})  # type: ignore[arg-type]
    assert isinstance(verdict, Verdict)
    assert verdict.name == "delivery" and verdict.ok
    assert fresh._impl is fresh.load()


def test_lazy_check_with_a_missing_implementation_fails_when_called() -> None:
    broken = LazyCheck(DELIVERY.spec, "chaos.checks.no_such_module:CHECK")
    assert broken.validate({}) == []  # validation needs only the spec
    with pytest.raises(ModuleNotFoundError):
        broken(empty_history(), empty_observations(), None, None, {})  # type: ignore[arg-type]


RUN_START = """
import json, sys
from chaos.cli import main
import chaos.run.orchestrator, chaos.report.render, chaos.report.cli_report
code = main(["run", "--dry-run", sys.argv[1], "--pushgateway", "http://127.0.0.1:9"])
sys.stdout.flush()
print("MODULES " + json.dumps(sorted(sys.modules)))
raise SystemExit(code)
"""


def test_run_start_up_does_not_import_matplotlib() -> None:
    """Reports are rendered at the end of a run: its start-up (the orchestrator, the report
    writer, the `report` verb's module) leaves matplotlib unimported."""
    proc = subprocess.run(
        [sys.executable, "-c", RUN_START, str(ROOT / "experiments" / "consumer-kill.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES "))
    modules: list[str] = json.loads(line.removeprefix("MODULES "))
    assert "chaos.run.orchestrator" in modules
    assert not [m for m in modules if m.split(".")[0] == "matplotlib"]
    assert "chaos.report.html" not in modules and "chaos.report.plots" not in modules
    assert "chaos.report.pushgateway" in modules  # the URL was checked, nothing pushed
    assert not [m for m in modules if m.split(".")[0] == "prometheus_client"]
