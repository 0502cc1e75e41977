"""`pipechaos init`: a starter target and two experiments for each publisher x observer, which
`validate` accepts; bad flags are one line and exit 2; existing files are kept unless --force."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from chaos.cli import main
from chaos.commands.starter import OBSERVERS, PUBLISHERS

from .core_helpers import run_cli


@pytest.mark.parametrize(("publisher", "observer"), list(itertools.product(PUBLISHERS, OBSERVERS)))
def test_every_combination_validates(publisher: str, observer: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["init", "shop", "--publisher", publisher, "--observer", observer,
                 "--dir", str(tmp_path)])
    assert code == 0
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.yaml"))
    assert files == ["experiments/shop-partition.yaml", "experiments/shop-worker-kill.yaml",
                     "targets/shop.yaml"]
    target = yaml.safe_load((tmp_path / "targets" / "shop.yaml").read_text())
    assert (target["publisher"]["type"], target["observer"]["type"]) == (publisher, observer)
    assert "TODO" in (tmp_path / "targets" / "shop.yaml").read_text()
    monkeypatch.chdir(tmp_path)  # experiments name the target: targets/shop.yaml from here
    capsys.readouterr()
    assert main(["validate", "targets/shop.yaml", *files[:2]]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.count(": ok") == 3


@pytest.mark.parametrize(("args", "message"), [
    (["init", "shop", "--publisher", "kafka", "--observer", "sql"],
     "argument --publisher: invalid choice: 'kafka'"),
    (["init", "shop", "--publisher", "http"], "the following arguments are required: --observer"),
    (["init", "Shop_1", "--publisher", "http", "--observer", "sql"],
     "NAME must be lower-case letters, digits and dashes, got 'Shop_1'"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(args: list[str], message: str,
                                                         tmp_path: Path) -> None:
    proc = run_cli(args, tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not list(tmp_path.rglob("*.yaml"))


def test_existing_files_are_kept_unless_force(tmp_path: Path) -> None:
    args = ["init", "shop", "--publisher", "rabbitmq", "--observer", "outcome-stream"]
    (tmp_path / "experiments").mkdir()
    mine = tmp_path / "experiments" / "shop-partition.yaml"
    mine.write_text("my own\n")
    proc = run_cli(args, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"pipechaos init: {Path('experiments/shop-partition.yaml')} "
                                   f"already exist(s); --force overwrites")
    assert mine.read_text() == "my own\n" and not (tmp_path / "targets").exists()
    proc = run_cli([*args, "--force"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "kind: Experiment" in mine.read_text()
