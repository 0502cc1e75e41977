"""benchmarks/checker_bench.py at a tiny size, so a benchmark that rots fails `make test`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_checker_bench_runs_and_its_checks_find_the_planted_losses(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "checker_bench.py"), "--n", "3000",
         "--dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=240, check=False, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    seconds = r"\d+\.\d+ s \(CPU \d+\.\d+ s\)"
    assert re.search(rf"read, observations v1 \(baseline\): +{seconds}", out), out
    assert re.search(rf"read, observations v2: +{seconds} = \d+\.\d+x the baseline", out), out
    assert re.search(rf"read \+ check: +{seconds} +peak RSS [\d,]+ MB", out), out
    # a tiny run is far inside the goal; wall time on a crowded machine may not be
    assert re.search(r"goal \(read \+ check <= 6 s, peak RSS <= 1 GB\): (NOT )?met by wall "
                     r"time, met by CPU time", out), out  # fmt: skip
    verdicts = dict(re.findall(r"^  (\w+) +(PASS|FAIL) ", out, re.MULTILINE))
    assert verdicts == {
        "delivery": "FAIL", "effects": "PASS", "saga": "FAIL",  # the 25 planted lost orders
        "dlq": "PASS", "latency": "PASS", "recovery": "PASS",
    }, out  # fmt: skip
    assert "lost 25 of" in out
    assert (tmp_path / "run" / "observations.columns").stat().st_size > 0  # the v2 writer ran
