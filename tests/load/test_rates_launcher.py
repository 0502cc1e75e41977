"""Per-second rate files, and launcher errors that must be one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.load.launcher import LoadError, LoadGenerator
from chaos.load.rates import RateRecorder, merge_rates
from chaos.spec.models import Load

S = 1_000_000_000


def test_rate_rows_are_written_once_a_second_is_over(tmp_path: Path) -> None:
    t0 = 100 * S
    rec = RateRecorder(tmp_path / "a.csv", t0)
    rec.count("offered", t0)
    rec.count("ok", t0 + S // 2)
    rec.count("offered", t0 + S + 1)
    rec.roll(t0 + 2 * S)  # second 0 is final, second 1 may still get completions
    rows = (tmp_path / "a.csv").read_text().splitlines()
    assert rows == ["second,offered,sent,ok,fail,info", "0,1,0,1,0,0"]
    rec.count("ok", t0 + S // 2)  # a straggler for a written second goes to the next row
    rec.count("info", t0 + 3 * S)
    rec.close()
    other = RateRecorder(tmp_path / "b.csv", t0)
    other.count("fail", t0 + 1)
    other.close()
    with (tmp_path / "b.csv").open("a") as f:
        f.write("1,4,")  # torn line from a killed process
    assert merge_rates([tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "none.csv"]) == [
        {"second": 0, "offered": 1, "sent": 0, "ok": 1, "fail": 1, "info": 0},
        {"second": 1, "offered": 1, "sent": 0, "ok": 1, "fail": 0, "info": 0},
        {"second": 2, "offered": 0, "sent": 0, "ok": 0, "fail": 0, "info": 0},
        {"second": 3, "offered": 0, "sent": 0, "ok": 0, "fail": 0, "info": 1},
    ]


@pytest.mark.timeout(120)
def test_bad_publisher_settings_fail_the_start_with_one_line(tmp_path: Path) -> None:
    gen = LoadGenerator(Load(rate="10/s", duration="1s"), "redis-stream", {}, tmp_path, "r", 1)
    try:
        with pytest.raises(LoadError) as e:
            gen.start()
    finally:
        gen.close()
    assert str(e.value) == (
        "load process 0 failed: ValueError: redis-stream setting address must be host:port, "
        "got None"
    )
    assert all(p.poll() is not None for p in gen.procs.values())


def test_reused_run_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "load-0.pch").write_bytes(b"")
    gen = LoadGenerator(Load(rate="10/s", duration="1s"), "redis-stream", {}, tmp_path, "r", 1)
    with pytest.raises(LoadError, match="already holds a history"):
        gen.start()
    assert gen.procs == {}


def test_stop_before_start_is_harmless(tmp_path: Path) -> None:
    gen = LoadGenerator(Load(rate="10/s", duration="1s"), "redis-stream", {}, tmp_path, "r", 1)
    assert gen.stop(1) == {}
    gen.check()
