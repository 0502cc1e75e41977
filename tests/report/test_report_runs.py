"""The reports of three real runs (passed, a failing negative control, one that could not
run): each run writes them itself, and each report says what result.json says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import junitparser
import pytest

from tests.e2e.runner import ROOT, RunOutcome
from tests.report.reading import junit_cases, page, result_of, validate_junit

pytestmark = pytest.mark.e2e
KINDS = ("passed", "failed", "error")
STATUS = {"passed": "passed", "failed": "failed", "error": "not_steady"}
Runs = dict[str, tuple[Path, RunOutcome]]


def _run(real_runs: Runs, kind: str) -> Path:
    run_dir, outcome = real_runs[kind]
    assert outcome.result.get("status") == STATUS[kind], outcome.explain()
    return run_dir


@pytest.mark.parametrize("kind", KINDS)
def test_the_run_writes_its_three_reports(real_runs: Runs, kind: str) -> None:
    run_dir = _run(real_runs, kind)
    for name in ("report.html", "junit.xml", "summary.md"):
        assert (run_dir / name).stat().st_size > 0, name
    assert (run_dir / "report.html").stat().st_size < 2_000_000


@pytest.mark.parametrize("kind", KINDS)
def test_junit_validates_and_parses(real_runs: Runs, kind: str) -> None:
    run_dir = _run(real_runs, kind)
    validate_junit(run_dir / "junit.xml")
    cases = junit_cases(run_dir / "junit.xml")
    result = result_of(run_dir)
    verdicts = {v["name"]: v for v in result["verdicts"]}
    assert {"run", "steady_state.before", "steady_state.after"} <= set(cases)
    assert set(verdicts) <= set(cases)
    for action in result["faults"]:
        case = cases[f"{action['id']} {action['fault']}"]
        assert case.is_passed, action  # every action applied, verified and reverted
    for name, verdict in verdicts.items():
        assert cases[name].is_passed == verdict["ok"]
    if kind == "passed":
        assert all(c.is_passed for c in cases.values())
    if kind == "failed":
        (failure,) = cases["delivery"].result
        assert isinstance(failure, junitparser.Failure)
        assert failure.message == verdicts["delivery"]["summary"]
        sample = verdicts["delivery"]["offenders"]["sample"]
        assert sample and f"order {sample[0]['id']}:" in (failure.text or "")
        assert cases["run"].is_passed
    if kind == "error":
        (error,) = cases["run"].result
        assert isinstance(error, junitparser.Error)
        assert error.message.startswith("not_steady")
        (failure,) = cases["steady_state.before"].result
        assert "pods_ready" in failure.message
        assert cases["steady_state.after"].is_skipped


@pytest.mark.parametrize("kind", KINDS)
def test_summary_md(real_runs: Runs, kind: str) -> None:
    run_dir = _run(real_runs, kind)
    text = (run_dir / "summary.md").read_text()
    result = result_of(run_dir)
    first = text.splitlines()[0]
    assert first.startswith("## ") and first.endswith(f"{result['experiment']}: {STATUS[kind]}")
    assert f"seed `{result['seed']}`" in text
    assert f"--seed {result['seed']}" in text
    for v in result["verdicts"]:
        mark = "PASS" if v["ok"] else "**FAIL**"
        assert f"| {v['name']} | {mark} | {v['summary']} |" in text
    if kind == "failed":
        assert "PIPECHAOS_REF_BUG=ack-before-effects pipechaos run" in text
        assert "**Reason:** violated: delivery" in text
    if kind == "error":
        assert "No invariant was checked." in text
        assert "Steady state before: 1 of 1 failed: pods_ready" in text
        assert "Fault actions: 0 journaled" in text


@pytest.mark.parametrize("kind", KINDS)
def test_html_structure(real_runs: Runs, kind: str) -> None:
    run_dir = _run(real_runs, kind)
    doc = page(run_dir)
    result = result_of(run_dir)
    assert doc.get_element_by_id("status").text_content() == STATUS[kind]
    rows = {r.get("data-verdict"): r.get("data-ok") for r in doc.xpath("//tr[@class='verdict']")}
    assert rows == {v["name"]: str(v["ok"]).lower() for v in result["verdicts"]}
    marks = [m.get("data-occurrence") for m in doc.xpath("//*[@data-occurrence]")]
    occurrences = {f["occurrence"] for f in result["faults"]}
    assert sorted(marks) == sorted(occurrences)  # one mark per occurrence
    if kind == "passed":
        assert len(occurrences) == 2  # the instant kill and the latency span
    offenders = {(r.get("data-verdict"), r.xpath("td")[1].text_content())
                 for r in doc.xpath("//tr[@class='offender']")}
    for v in result["verdicts"]:
        for o in v["offenders"]["sample"]:
            assert (v["name"], str(o["id"])) in offenders
    if kind == "failed":
        assert any(name == "delivery" for name, _ in offenders)
    assert doc.get_element_by_id("seed").text_content() == str(result["seed"])
    assert f"--seed {result['seed']}" in doc.get_element_by_id("replay").text_content()
    assert len(doc.xpath("//tr[@class='action']")) == len(result["faults"])
    assert not doc.xpath("//script | //link | //img | //iframe | //*[@src]")


def test_report_renders_a_copied_run_again(real_runs: Runs, tmp_path: Path) -> None:
    """A run copied elsewhere (off a cluster) is reported from its directory alone."""
    copy = tmp_path / "copied"
    shutil.copytree(_run(real_runs, "failed"), copy)
    for name in ("report.html", "junit.xml", "summary.md"):
        (copy / name).unlink()
    cmd = [sys.executable, "-m", "chaos", "report"]
    proc = subprocess.run([*cmd, str(copy)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(copy / n) for n in ("report.html", "junit.xml",
                                                          "summary.md")]
    validate_junit(copy / "junit.xml")
    assert str(copy / "experiment.yaml") in (copy / "summary.md").read_text()
    out = tmp_path / "again.xml"
    proc = subprocess.run([*cmd, str(copy), "--format", "junit", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == (copy / "junit.xml").read_text()
    proc = subprocess.run([*cmd, str(copy), "--format", "md"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout == (copy / "summary.md").read_text()
