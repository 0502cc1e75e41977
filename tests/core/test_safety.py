"""`safety`: the namespace allow-list and the blast-radius cap are refused by validate
(exit 2, nothing runs) and `max_pods` is enforced again when each occurrence starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.cli import main

from .core_helpers import ROOT, run_cli
from .test_run import actions_log, journal, write_exp

REFERENCE = ROOT / "targets" / "reference-local.yaml"  # local platform, 3 consumers


def reference_exp(tmp_path: Path, fault: str, safety: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(
        f"""apiVersion: pipechaos/v1
kind: Experiment
metadata: {{name: safety}}
target: {REFERENCE}
load: {{rate: 10/s, duration: 10s}}
faults:
  - {{type: pod.kill, at: 2s, selector: {{tier: worker}}, {fault}}}
safety: {safety}
"""
    )
    return path


@pytest.mark.parametrize(
    ("fault", "safety", "message"),
    [
        ("mode: all", "{max_pods: 2}", "7:62: faults[0].mode: pod.kill may touch up to 3 pods"),
        ("mode: fixed, value: 3", "{max_pods: 2}", "safety.max_pods is 2"),
        ("mode: percent, value: 100", "{max_pods: 1}", "may touch up to 3 pods"),
        (
            "mode: one",
            "{allowed_namespaces: [staging]}",
            "8:30: safety.allowed_namespaces: target 'reference-local' runs in namespace 'local' "
            "(platform local), which is not allowed here (staging)",
        ),
    ],
)
def test_validate_refuses_what_safety_forbids(
    tmp_path: Path, fault: str, safety: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = reference_exp(tmp_path, fault, safety)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert main(["run", str(path), "--dry-run"]) == 2  # run refuses it the same way


@pytest.mark.parametrize(
    ("fault", "safety"),
    [
        ("mode: one", "{max_pods: 1}"),
        ("mode: all", "{max_pods: 3}"),
        ("mode: fixed, value: 2", "{max_pods: 2, allowed_namespaces: [staging, local]}"),
    ],
)
def test_validate_accepts_what_safety_allows(tmp_path: Path, fault: str, safety: str) -> None:
    assert main(["validate", str(reference_exp(tmp_path, fault, safety))]) == 0


def test_a_platform_without_namespaces_cannot_pass_an_allow_list(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_exp(work, "ns", "timing: {duration: 1s}\nsafety: {allowed_namespaces: [x]}\n")
    assert main(["validate", str(path)]) == 2
    assert "platform 'test' of target 'test-target' names no namespace" in capsys.readouterr().err


def test_run_refuses_an_occurrence_over_max_pods_and_applies_nothing(work: Path) -> None:
    write_exp(
        work,
        "wide",
        """faults:
  - {type: test.marker, at: 0.1s, duration: 0.5s, dir: markers, pods: true, count: 2}
timing: {duration: 2s}
safety: {max_pods: 1}
""",
    )
    proc = run_cli(["run", "experiments/wide.yaml", "--run-dir", "r"], work)
    assert proc.returncode == 3, proc.stderr
    result = json.loads((work / "r" / "result.json").read_text())
    assert result["status"] == "error"
    assert "would touch 2 pod(s) with 0 held" in result["reason"]
    assert not any(e["event"] == "action" for e in journal(work / "r"))
    assert actions_log(work) == []


def test_run_counts_pods_held_by_active_faults(work: Path) -> None:
    body = """faults:
  - {type: test.marker, at: 0.1s, duration: 1s, dir: markers, pods: true}
  - {type: test.marker, at: 0.5s, duration: 0.3s, dir: markers, pods: true}
  - {type: test.kick, at: 1.5s, dir: markers, pods: true}
  - {type: test.kick, at: 1.7s, dir: markers, pods: true}
timing: {duration: 2.5s}
"""
    write_exp(work, "overlap", body + "safety: {max_pods: 1}\n")
    proc = run_cli(["run", "experiments/overlap.yaml", "--run-dir", "r"], work)
    assert proc.returncode == 3, proc.stderr
    result = json.loads((work / "r" / "result.json").read_text())
    assert "f1.0 test.marker: would touch 1 pod(s) with 1 held" in result["reason"]
    ops = [line["op"] for line in actions_log(work)]
    assert ops == ["apply", "revert"]  # the first fault only, reverted

    write_exp(work, "overlap", body + "safety: {max_pods: 2}\n")
    proc = run_cli(["run", "experiments/overlap.yaml", "--run-dir", "r2"], work)
    assert proc.returncode == 0, proc.stderr  # instant faults hold nothing once done
    assert [line["op"] for line in actions_log(work)].count("apply") == 1 + 4  # runs 1, 2
