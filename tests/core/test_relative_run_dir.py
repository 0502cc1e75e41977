"""A relative --run-dir (and the default runs/<id>) must work: the load processes and
pods run in other working directories."""

from __future__ import annotations

from pathlib import Path

from chaos.run.rundir import prepare_run_dir
from chaos.spec.validate import check_experiment_file

ROOT = Path(__file__).resolve().parents[2]


def test_prepared_run_dir_is_absolute(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    checked = check_experiment_file(ROOT / "experiments" / "consumer-kill.yaml")
    monkeypatch.chdir(tmp_path)
    _, path = prepare_run_dir(checked, 1, None)
    assert path.is_absolute() and path.parent == tmp_path / "runs"
    _, other = prepare_run_dir(checked, 1, Path("relative/run"))
    assert other == tmp_path / "relative" / "run"
