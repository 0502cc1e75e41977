"""The CLI surface: help, usage errors (one line, exit 2), schema, list, analyze, proxy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.cli import main

from .core_helpers import run_cli


def test_help_is_fast_path_and_lists_verbs(tmp_path: Path) -> None:
    proc = run_cli(["--help"], tmp_path)
    assert proc.returncode == 0
    for verb in ("run", "validate", "plan", "list", "rollback", "analyze", "schema", "proxy"):
        assert verb in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["bogus"],
        ["run"],
        ["plan", "a", "b"],
        ["run", "x", "--seed", "abc"],
        ["schema", "pods"],
        ["analyze"],
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], tmp_path: Path) -> None:
    proc = run_cli(args, tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    if args:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    proc = run_cli(["run", "nope.yaml"], tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == "nope.yaml: no such file"


def test_validate_many_files(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "bad.yaml").write_text("apiVersion: pipechaos/v1\nkind: Target\nmetadata: {nme: x}\n")
    code = main(["validate", "experiments/markers.yaml", "targets/test.yaml", "bad.yaml"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "experiments/markers.yaml: ok" in out and "targets/test.yaml: ok" in out
    assert err.startswith("bad.yaml:3:") and "did you mean 'name'" in err


@pytest.mark.parametrize("kind", ["experiment", "target"])
def test_schema(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", kind]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["additionalProperties"] is False
    assert ("faults" if kind == "experiment" else "proxies") in doc["properties"]


def test_list_describes_plugins_and_their_params(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert set(listing) == {"faults", "checks", "probes", "platforms", "publishers", "observers"}
    marker = next(f for f in listing["faults"] if f["name"] == "test.marker")
    params = {p["name"]: p for p in marker["params"]}
    assert params["dir"]["required"] and params["count"]["default"] == 1
    assert any(p["name"] == "test_value" for p in listing["probes"])
    assert main(["list"]) == 0
    assert "test.kick" in capsys.readouterr().out


def test_analyze_rejudges_a_stored_run(work: Path) -> None:
    exp = work / "experiments" / "markers.yaml"
    exp.write_text(exp.read_text() + "invariants: [delivery, {check: effects, name: fx}]\n")
    run = run_cli(["run", "experiments/markers.yaml", "--run-dir", "r", "--json"], work)
    result = json.loads(run.stdout)
    assert [v["name"] for v in result["verdicts"]] == ["delivery", "fx"]
    assert run.returncode == result["exit_code"] == (0 if result["status"] == "passed" else 1)
    again = run_cli(["analyze", "r", "--json"], work)
    assert again.returncode == run.returncode, again.stderr
    verdicts = json.loads(again.stdout)["verdicts"]
    assert [v["name"] for v in verdicts] == ["delivery", "fx"]
    one = run_cli(["analyze", "r", "--check", "fx", "--json"], work)
    assert [v["name"] for v in json.loads(one.stdout)["verdicts"]] == ["fx"]
    assert run_cli(["analyze", "r", "--check", "nope"], work).returncode == 2
    assert run_cli(["analyze", "no-such-dir"], work).returncode == 2


def test_proxy_verb_delegates(tmp_path: Path) -> None:
    proc = run_cli(["proxy", "--help"], tmp_path)
    assert proc.returncode == 0
    assert "port" in (proc.stdout + proc.stderr)


def test_target_override_and_resolution(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = work / "experiments" / "markers.yaml"
    exp.write_text(exp.read_text().replace("target: test", "target: elsewhere"))
    assert main(["validate", str(exp)]) == 2
    assert "markers.yaml:4:9: target: elsewhere not found" in capsys.readouterr().err
    assert main(["validate", str(exp), "--target", "test"]) == 0  # by name
    assert main(["plan", str(exp), "--target", "targets/test.yaml", "--seed", "1"]) == 0
    assert "on test-target" in capsys.readouterr().out
    sub = work / "experiments" / "nested"
    sub.mkdir()
    (sub / "x.yaml").write_text(
        exp.read_text().replace("target: elsewhere", "target: ../../targets/test.yaml")
    )
    assert main(["validate", str(sub / "x.yaml")]) == 0  # a path relative to the file
