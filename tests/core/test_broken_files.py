"""Every broken file: exit 2, a few lines naming the file (and line) and the field, no
traceback, nothing executed."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.cli import main

from .core_helpers import HERE, run_cli

BROKEN = HERE / "broken"
# file -> text the message must contain (the field, or what is wrong when there is no field)
EXPECT = {
    "abort_two_bounds.yaml": "abort_when[0]",
    "alias_bomb.yaml": "alias bomb",
    "bad_duration.yaml": 'faults[0].duration: must be a duration like 30s, got "3o s"',
    "bad_jitter.yaml": "faults[0].start_jitter",
    "bad_name.yaml": "metadata.name",
    "binary_garbage.yaml": "not UTF-8",
    "duplicate_key.yaml": "load: duplicate key",
    "empty.yaml": "empty file",
    "every_not_longer.yaml": "faults[0].every",
    "fault_ends_after_window.yaml": "faults[0].duration",
    "fault_outside_window.yaml": "faults[0].at: 12s is outside the window",
    "fault_param_typo.yaml": "did you mean 'count'",
    "instant_with_duration.yaml": "faults[0].duration",
    "list_at_top.yaml": "top level is a list",
    "load_without_publisher.yaml": "load: target 'nopub' has no publisher",
    "missing_api_version.yaml": "apiVersion",
    "negative_rate.yaml": "load.rate",
    "none_without_duration.yaml": "timing",
    "not_yaml.yaml": "not valid YAML",
    "only_comment.yaml": "empty file",
    "phase_list_typo.yaml": "phase: unknown phase 'recovry' (did you mean 'recovery'?)",
    "phase_typo.yaml": "invariants[0].phase: unknown phase 'recover' (did you mean 'recovery'?)",
    "poison_fraction.yaml": "load.poison",
    "python_tag.yaml": "!!python/object/apply:os.system is not allowed",
    "selector_matches_nothing.yaml": "faults[0].selector: {app: consumr} matches no component",
    "target_bad_reference.yaml": "proxies[0].upstream",
    "target_duplicate_component.yaml": "components[1].name",
    "target_not_found.yaml": "target: no-such-target not found",
    "target_path_not_found.yaml": "target: no such file",
    "target_ready_port.yaml": "components[0].ready.tcp",
    "target_typo_key.yaml": "did you mean 'ports'",
    "target_unknown_platform.yaml": "platform.type",
    "target_unknown_proxy_ref.yaml": "consumer-1-broker",
    "two_documents.yaml": "more than one YAML document",
    "typo_key.yaml": "faultz: unknown key (did you mean 'faults'?)",
    "typo_nested_key.yaml": "load.poisn",
    "unknown_check.yaml": "unknown check 'delivry' (did you mean 'delivery'?)",
    "unknown_fault_type.yaml": "did you mean 'test.marker'",
    "unknown_probe.yaml": "steady_state[0].probe",
    "unknown_proxy.yaml": "faults[0].proxy: target test-target has no proxy consumer-9-broker",
    "wrong_kind.yaml": "kind: must be 'Experiment'",
    "wrong_type.yaml": "load.users",
}
HAS_LINE = set(EXPECT) - {
    "binary_garbage.yaml",
    "empty.yaml",
    "only_comment.yaml",
}


def test_corpus_is_complete() -> None:
    assert len(EXPECT) >= 20
    assert sorted(p.name for p in BROKEN.iterdir()) == sorted(EXPECT)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_broken_file_exits_2_with_one_clear_message(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = BROKEN / name
    assert main(["validate", str(path)]) == 2
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 3, err
    assert all(line.startswith(str(path)) for line in lines), err
    assert EXPECT[name] in err
    assert "Traceback" not in err
    if name in HAS_LINE:
        assert err.startswith(f"{path}:") and err[len(str(path)) + 1].isdigit(), err


@pytest.mark.parametrize(
    "name",
    [
        "python_tag.yaml",
        "alias_bomb.yaml",
        "binary_garbage.yaml",
        "bad_duration.yaml",
        "unknown_proxy.yaml",
    ],
)
def test_run_refuses_before_touching_anything(name: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = run_cli(["run", str(BROKEN / name), "--run-dir", str(run_dir)], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 3
    assert not run_dir.exists()
    assert not Path("/tmp/pwned").exists() or name != "python_tag.yaml"


def test_json_errors(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["validate", "--json", str(BROKEN / "typo_key.yaml")]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and "faultz" in doc["files"][0]["errors"][0]
