"""JSON Schema per fault, check and probe type (chaos/spec/schema.py, docs/schema/)."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from chaos import registry
from chaos.cli import main
from chaos.spec.schema import schema

from .core_helpers import ROOT, cli_env

STORED = ROOT / "docs" / "schema"
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))
TARGETS = sorted((ROOT / "targets").glob("*.yaml"))


@functools.cache
def validator(kind: str) -> Draft202012Validator:
    doc = json.loads((STORED / f"{kind}.schema.json").read_text())
    Draft202012Validator.check_schema(doc)
    return Draft202012Validator(doc)


def errors(kind: str, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator(kind).iter_errors(doc)]  # fmt: skip


def consumer_kill() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "experiments" / "consumer-kill.yaml").read_text())
    return doc


@pytest.mark.parametrize("kind", ["experiment", "target"])
def test_stored_schema_is_built_from_the_builtin_registries(kind: str) -> None:
    """docs/schema/*.json (editors read them through the modeline) must be current, and
    describe pipechaos' own plugins only, never the test plugins on this path."""
    stored = json.loads((STORED / f"{kind}.schema.json").read_text())
    assert stored == schema(kind, builtin_only=True), (
        f"regenerate (outside the tests, no plugins installed): "
        f"pipechaos schema {kind} > docs/schema/{kind}.schema.json"
    )
    assert "test." not in json.dumps(stored)


def test_pipechaos_schema_prints_it_with_the_installed_plugins(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "test.marker" in registry.faults  # the test plugins are installed here
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == schema("experiment")
    types = [b["if"]["properties"]["type"]["const"] for b in printed["$defs"]["FaultSpec"]["allOf"]]
    assert "test.marker" in types and "pod.kill" in types


@pytest.mark.parametrize("path", EXPERIMENTS + TARGETS, ids=lambda p: p.name)
def test_every_library_file_is_valid(path: Path) -> None:
    kind = "target" if path.parent.name == "targets" else "experiment"
    assert errors(kind, yaml.safe_load(path.read_text())) == []


def test_every_fault_and_check_type_has_a_closed_branch() -> None:
    stored = json.loads((STORED / "experiment.schema.json").read_text())
    defs = stored["$defs"]
    faults = {b["if"]["properties"]["type"]["const"]: b["then"] for b in defs["FaultSpec"]["allOf"]}
    assert set(faults) == {n for n in registry.faults.names() if not n.startswith("test.")}
    assert all(t["additionalProperties"] is False for t in faults.values())
    assert faults["pod.kill"]["required"] == ["selector"]
    checks = {b["if"]["properties"]["check"]["const"] for b in defs["InvariantSpec"]["allOf"]}
    assert checks == {"delivery", "effects", "saga", "dlq", "latency", "recovery", "metrics_truth"}
    probes = [a.get("const") for a in defs["ProbeCheck"]["properties"]["probe"]["anyOf"]]
    assert {"lag", "pending", "pods_ready"} <= set(probes)


def test_misspelt_parameters_are_rejected() -> None:
    doc = consumer_kill()
    assert errors("experiment", doc) == []
    bad = copy.deepcopy(doc)
    bad["faults"][0]["selecter"] = bad["faults"][0].pop("selector")
    problems = errors("experiment", bad)
    assert any("selecter" in p for p in problems) and any("selector" in p for p in problems)
    bad = copy.deepcopy(doc)
    bad["faults"][0]["signal"] = "KIL"
    assert any("faults/0/signal" in p for p in errors("experiment", bad))
    bad = copy.deepcopy(doc)
    bad["invariants"].append({"check": "saga", "withn": "30s"})
    assert any("withn" in p for p in errors("experiment", bad))
    bad = copy.deepcopy(doc)
    bad["invariants"].append({"check": "latency", "p99": "fast"})
    assert any("p99" in p for p in errors("experiment", bad))


def test_unknown_types_stay_open_and_relative_bounds_pass() -> None:
    doc = consumer_kill()
    doc["faults"].append({"type": "acme.flood", "at": "1s", "anything": 1})
    doc["invariants"] += [
        {"check": "acme.audit", "whatever": [1]},
        {"check": "latency", "p99.9": "3x baseline + 50ms", "max": "10s", "phase": ["fault"]},
        {"check": "recovery", "progress": {"min": 5, "per": "1s"}},
    ]
    doc["steady_state"].append({"probe": "acme_depth", "max": 3})
    assert errors("experiment", doc) == []


def test_check_schemas_name_exactly_the_parameters_validate_knows() -> None:
    stored = json.loads((STORED / "experiment.schema.json").read_text())
    for branch in stored["$defs"]["InvariantSpec"]["allOf"]:
        name = branch["if"]["properties"]["check"]["const"]
        check = registry.checks.get(name)
        for key in set(branch["then"]["properties"]) - {"check", "name"}:
            assert not any("unknown parameter" in e for e in check.validate({key: object()})), (
                name, key,
            )  # fmt: skip
        assert any("unknown parameter" in e for e in check.validate({"zzz": 1})), name


def test_validate_does_not_import_the_schema_code() -> None:
    script = (
        "import sys\nfrom chaos.cli import main\n"
        "code = main(['validate', *sys.argv[1:]])\n"
        "assert 'chaos.spec.schema' not in sys.modules, 'validate imported the schema code'\n"
        "raise SystemExit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, *map(str, EXPERIMENTS[:3])],
        cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
