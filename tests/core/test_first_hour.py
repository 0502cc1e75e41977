"""What a new user meets in the first hour (issue 12, part 2): Ctrl-C says what it
reverted, `analyze` on a run that never finished says so, unknown names read as one line
in YAML notation, target paths name the experiment's line, `--json` before or after the
verb, `plan` and `list` in YAML notation with defaults, phases and parameters."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from chaos.cli import main

from .core_helpers import ROOT, Procs, run_cli
from .test_run import journal, last_states, wait_for, write_exp

TWO_LONG = """faults:
  - {type: test.marker, at: 0.1s, duration: 25s, dir: markers}
  - {type: test.kick, at: 0.2s, dir: markers}
  - {type: test.marker, at: 0.3s, duration: 25s, dir: markers, count: 2}
invariants: [delivery, {check: recovery, within: 30s}]
timing: {duration: 30s, drain_timeout: 1s}
"""


def test_ctrl_c_says_what_it_reverted_and_analyze_says_the_run_never_finished(
    work: Path, procs: Procs
) -> None:
    write_exp(work, "long", TWO_LONG)
    run_dir = work / "r"
    proc = procs.start(["run", "experiments/long.yaml", "--run-dir", str(run_dir)], work)

    def all_verified() -> bool:
        states = last_states(journal(run_dir))
        return sum(s == "verified" for s in states.values()) == 3

    wait_for(all_verified, what="f0.0 and f2.0 verified")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    # newest first, one item per occurrence; the instant f1.0 was reverted long before
    assert "reverted 2 faults: f2.0 test.marker, f0.0 test.marker" in err, err
    assert "interrupted" in out

    again = run_cli(["analyze", "r"], work)
    assert again.returncode in (1, 3), again.stderr
    assert "this run never finished (interrupted: received SIGINT)" in again.stdout
    verdict_lines = [x for x in again.stdout.splitlines() if x.startswith(("  PASS", "  FAIL"))]
    assert len(verdict_lines) == 2
    assert all("[run never finished (interrupted" in x for x in verdict_lines), again.stdout
    doc = json.loads(run_cli(["analyze", "r", "--json"], work).stdout)
    assert doc["finished"] is False and doc["unfinished"].startswith("interrupted")
    assert all(v["unfinished"] for v in doc["verdicts"])

    # --json before or after the verb: the same document (verbs that read a run directory)
    for verb in (["analyze", "r", "--check", "recovery"], ["rollback", "r"]):
        before = run_cli(["--json", *verb], work)
        after = run_cli([*verb, "--json"], work)
        assert before.returncode == after.returncode, (before.stderr, after.stderr)
        assert json.loads(before.stdout) == json.loads(after.stdout), verb


def test_ctrl_c_before_any_fault_says_nothing_was_reverted(work: Path, procs: Procs) -> None:
    late = "faults:\n  - {type: test.marker, at: 20s, duration: 2s, dir: markers}\n"
    write_exp(work, "late", late + "timing: {duration: 30s, drain_timeout: 1s}\n")
    run_dir = work / "r"
    proc = procs.start(["run", "experiments/late.yaml", "--run-dir", str(run_dir)], work)
    wait_for(lambda: any(e.get("event") == "t0" for e in journal(run_dir)), what="t0")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "no fault was active: nothing to revert" in err


def test_analyze_runs_an_unlisted_check_with_defaults_as_the_docs_say(work: Path) -> None:
    assert run_cli(["run", "experiments/markers.yaml", "--run-dir", "r"], work).returncode in (0, 1)
    proc = run_cli(["analyze", "r", "--check", "dlq", "--json"], work)
    verdicts = json.loads(proc.stdout)["verdicts"]
    assert [v["name"] for v in verdicts] == ["dlq"], proc.stderr
    assert "no invariant named" not in proc.stderr
    docs = (ROOT / "docs" / "checks.md").read_text()
    assert "a check the experiment does not\nlist runs with default parameters" in docs
    typo = run_cli(["analyze", "r", "--check", "dlqq"], work)
    assert typo.returncode == 2 and len(typo.stderr.strip().splitlines()) == 1
    assert "did you mean 'dlq'?" in typo.stderr


@pytest.mark.parametrize(
    "verb",
    [
        ["validate", "experiments/markers.yaml"],
        ["validate", "experiments/markers.yaml", "--target", "test"],
        ["validate", "nope.yaml"],
        ["plan", "experiments/markers.yaml", "--seed", "3"],
        ["run", "experiments/markers.yaml", "--seed", "3", "--dry-run"],
        ["list"],
        ["schema", "target"],
    ],
)
def test_json_before_or_after_the_verb_is_the_same(
    verb: list[str], work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = main(["--json", *verb])
    before = capsys.readouterr().out
    assert main([*verb, "--json"]) == first
    after = capsys.readouterr().out
    assert json.loads(before) == json.loads(after)


def _one_line(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "{'" not in err and "'}" not in err, err  # YAML notation, not Python reprs
    return lines[0]


@pytest.mark.parametrize(
    ("fault", "field", "wording"),
    [
        ("{type: pod.pause, at: 1s, duration: 2s, selector: {app: consumr}}", "selector",
         "{app: consumr} matches no component of target test-target, a role this experiment "
         "needs (it has: redis {app: redis, tier: broker, component: redis}, "
         "consumer {app: consumer, tier: worker, component: consumer})"),
        ("{type: pod.kill, at: 1s, selector: {app: consumer, index: \"5\"}}", "selector",
         '{app: consumer, index: "5"} matches no component'),
        ("{type: network.latency, at: 1s, duration: 2s, proxy: consumer-9-broker, latency: 1s}",
         "proxy", "target test-target has no proxy consumer-9-broker, a role this experiment needs "
         "(it has: producer-broker, "),
        ("{type: tls.expired-cert, at: 1s, duration: 2s, via: proxy, proxy: nope}", "proxy",
         "target test-target has no proxy nope, a role this experiment needs (it has: "),
        ("{type: network.latency, at: 1s, duration: 2s, proxies: {names: [a]}, latency: 1s}",
         "proxies", "target test-target has no proxy a, a role this experiment needs (it has: "),
    ],
)
def test_a_name_the_target_lacks_is_one_line_in_yaml_notation(
    fault: str, field: str, wording: str, work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_exp(work, "names", f"timing: {{duration: 5s}}\nfaults:\n  - {fault}\n")
    line = _one_line(path, capsys)
    assert "names.yaml:8:" in line and f"faults[0].{field}: {wording}" in line, line


def test_a_selector_by_index_within_the_replicas_is_fine(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_exp(work, "idx", 'timing: {duration: 5s}\nfaults:\n'
                     '  - {type: pod.kill, at: 1s, selector: {app: consumer, index: "1"}}\n')
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_a_target_path_is_relative_to_the_experiment_and_the_error_says_so(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = work / "my"
    mine.mkdir()
    (mine / "mine.yaml").write_text((work / "targets" / "test.yaml").read_text())
    exp = mine / "exp.yaml"
    exp.write_text((work / "experiments" / "markers.yaml").read_text().replace(
        "target: test", "target: my/mine.yaml"))
    line = _one_line(exp, capsys)
    assert line.startswith(f"{exp}:4:9: target: no such file my/my/mine.yaml"), line
    assert "relative to the experiment file" in line and "did you mean target: mine.yaml?" in line
    exp.write_text(exp.read_text().replace("target: my/mine.yaml", "target: mine.yaml"))
    assert main(["validate", str(exp)]) == 0


def test_a_target_name_typo_lists_each_place_once_and_suggests_the_name(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = work / "experiments" / "markers.yaml"
    exp.write_text(exp.read_text().replace("target: test", "target: tset"))
    line = _one_line(exp, capsys)  # cwd's targets/ is also the one beside experiments/
    assert line.count("tset.yaml") == 1, line
    assert "target: tset not found (did you mean test?)" in line
    assert "known: nopub, test" in line
    assert main(["validate", str(exp), "--target", "tset"]) == 2
    assert capsys.readouterr().err.startswith("--target: tset not found")


def test_plan_shows_phases_defaults_and_yaml_notation(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "experiments/markers.yaml", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "{'" not in out and "True" not in out and "None" not in out, out
    assert "  baseline  0s -> 0.2s" in out
    assert "  fault     0.2s -> " in out and "  drain     2.5s -> at most 4.5s" in out
    assert "dir: markers, count: 2" in out
    assert "defaults: fail_apply: false, fail_verify: false" in out
    assert main(["plan", "experiments/markers.yaml", "--seed", "3", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [p["phase"] for p in plan["phases"]] == ["baseline", "fault", "recovery", "drain"]
    assert plan["occurrences"][0]["defaults"]["fail_apply"] is False


def test_every_option_of_every_verb_has_help() -> None:
    from chaos.cli import _parser

    sub = next(a for a in _parser()._actions if a.dest == "verb")
    for verb, parser in sub.choices.items():  # type: ignore[union-attr]
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{verb} {action.option_strings[0]} has no help"
    plan = run_cli(["plan", "--help"], ROOT)
    assert "the seed whose schedule to show" in plan.stdout and "--target TARGET" in plan.stdout


def test_readme_cli_table_shows_each_verbs_options() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "`pipechaos validate FILE... [--target T]`" in readme
    assert "`pipechaos plan FILE [--seed N] [--target T]`" in readme


def test_list_shows_parameters_of_checks_and_probes_and_plain_descriptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    checks = {c["name"]: {p["name"] for p in c["params"]} for c in listing["checks"]}
    assert {"phase", "from"} <= checks["latency"] and {"within", "sums"} <= checks["saga"]
    assert {"within", "slack", "hold", "metrics", "progress"} == checks["recovery"]
    probes = {p["name"]: {q["name"] for q in p["params"]} for p in listing["probes"]}
    assert {"redis", "stream", "group"} <= probes["lag"] and "pods_selector" in probes["pods_ready"]
    local = next(p for p in listing["platforms"] if p["name"] == "local")
    assert "protocol" not in local["description"] and "chaos/" not in local["description"]
    faults = {f["name"]: {p["name"]: p for p in f["params"]} for f in listing["faults"]}
    assert "replacement" not in faults["pod.pause"]["timeout"]["description"]
    assert "replacement" in faults["pod.kill"]["timeout"]["description"]
    with_wrong_host = sorted(n for n, ps in faults.items() if "wrong_host" in ps)
    assert with_wrong_host == ["tls.hostname-mismatch"]
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    assert "{'" not in text and "None" not in text and "\\r\\n\"" in text
    assert "      phase: name | list[name] (optional)" in text


def test_docs_stand_in_the_repository() -> None:
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        assert "../shared" not in doc.read_text(), f"{doc.name} points outside the repository"


def test_the_image_can_write_its_run_directory() -> None:
    """The image runs as 10001 in root-owned /opt/pipechaos: its runs/ must be that user's."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    text = "\n".join(lines)
    workdir = next(x.split()[1] for x in lines if x.startswith("WORKDIR"))
    assert "USER 10001" in text
    assert f"chown 10001:10001 {workdir}/runs" in text
    assert text.index(f"chown 10001:10001 {workdir}/runs") < text.index("USER 10001")
    readme = (ROOT / "README.md").read_text()
    assert "## What runs where today" in readme and f"{workdir}/runs" in readme


def test_a_run_that_finds_the_target_busy_itself_writes_no_traceback(work: Path) -> None:
    """Run() without a lock from the CLI takes it itself: busy is an expected end."""
    from chaos.report.progress import PlainProgress
    from chaos.run.lock import TargetLock
    from chaos.run.orchestrator import Run
    from chaos.run.rundir import prepare_run_dir
    from chaos.spec.validate import check_experiment_file

    checked = check_experiment_file(work / "experiments" / "markers.yaml")
    run_id, run_dir = prepare_run_dir(checked, 1, work / "r")
    with TargetLock("test-target"), (work / "progress.log").open("w") as log:
        result = Run(checked, 1, run_dir, run_id, PlainProgress(log)).execute()
    assert result.status == "error" and result.exit_code == 3
    assert result.reason is not None and "PIPECHAOS_LOCK_WAIT" in result.reason
    assert "LockBusy" not in result.reason and not (run_dir / "runner.log").exists()
