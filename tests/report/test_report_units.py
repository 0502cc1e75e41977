"""The renderers over small hand-made run directories: what a crashed, copied or failing
run leaves behind still gives a valid report that names what went wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import junitparser
import pytest

from chaos.cli import main
from chaos.report.html import render_html
from chaos.report.junit import render_junit
from chaos.report.markdown import render_markdown
from tests.report.reading import junit_cases, validate_junit

T0 = 1_800_000_000_000_000_000
S = 1_000_000_000


def _run_dir(tmp_path: Path, result: dict[str, Any] | None, journal: list[dict[str, Any]]) -> Path:
    d = tmp_path / "run"
    d.mkdir()
    if result is not None:
        base = {"format": "pipechaos.result", "version": 1, "run_id": "x-1", "experiment": "x",
                "target": "reference-local", "seed": 3, "phases": {}, "faults": [],
                "steady_state": {"before": [], "after": []}, "verdicts": [], "bug": None}
        (d / "result.json").write_text(json.dumps({**base, **result}))
    (d / "journal.jsonl").write_text("".join(json.dumps({"v": 1, **e}) + "\n" for e in journal))
    (d / "plan.json").write_text(json.dumps({"seed": 3, "occurrences": [
        {"id": "f0.0", "type": "network.latency", "until_s": 3.0}]}))
    (d / "experiment.yaml").write_text("kind: Experiment\n")
    return d


def _action(t: int, state: str, **extra: Any) -> dict[str, Any]:
    return {"t": t, "event": "action", "id": "f0.0.0", "state": state, **extra}


def _junit(tmp_path: Path, d: Path) -> dict[str, junitparser.TestCase]:
    out = tmp_path / "junit.xml"
    out.write_text(render_junit(d))
    validate_junit(out)
    return junit_cases(out)


def test_a_run_without_result_json_is_an_error(tmp_path: Path) -> None:
    d = _run_dir(tmp_path, None, [{"t": T0, "event": "run_start"}])
    cases = _junit(tmp_path, d)
    (error,) = cases["run"].result
    assert isinstance(error, junitparser.Error)
    assert error.message.startswith("no readable result.json: result.json: missing")
    assert "result.json: missing" in render_markdown(d)
    assert "result.json: missing" in render_html(d)


def test_a_failed_verify_names_its_stage(tmp_path: Path) -> None:
    journal = [
        {"t": T0, "event": "t0", "t0": T0},
        _action(T0 + S, "applying", occurrence="f0.0", fault="network.latency",
                description="latency 20ms on consumer-payment"),
        _action(T0 + S + 1, "applied"),
        _action(T0 + S + 2, "verify_failed", error="no latency measured"),
        _action(T0 + S + 3, "reverting"),
        _action(T0 + S + 4, "reverted"),
    ]
    d = _run_dir(tmp_path, {"status": "error", "reason": "fault f0.0 did not verify"}, journal)
    cases = _junit(tmp_path, d)
    (failure,) = cases["f0.0.0 network.latency"].result
    assert failure.message == "verify failed: verify: no latency measured"
    assert isinstance(cases["run"].result[0], junitparser.Error)
    text = render_markdown(d)
    assert "failing `f0.0.0` (verify)" in text and text.startswith("## ⚠️ x: error")
    page = render_html(d)
    assert page.count("data-occurrence=") == 1 and 'data-action="f0.0.0"' in page


def test_an_action_never_reverted_fails_at_revert(tmp_path: Path) -> None:
    journal = [{"t": T0, "event": "t0", "t0": T0},
               _action(T0 + S, "applying", occurrence="f0.0", fault="network.latency"),
               _action(T0 + S + 1, "applied")]
    d = _run_dir(tmp_path, {"status": "aborted", "reason": "lag above 10 for 1s"}, journal)
    cases = _junit(tmp_path, d)
    assert cases["f0.0.0 network.latency"].result[0].message.startswith("revert: never reverted")
    (failure,) = cases["run"].result
    assert isinstance(failure, junitparser.Failure) and failure.message.startswith("aborted")


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["report", "/nonexistent/run"], "no such run directory"),
     (["report", ".", "--out", "x.html"], "--out needs --format")],
)
def test_report_verb_usage_errors(argv: list[str], message: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
