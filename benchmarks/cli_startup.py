"""Start-up time of `pipechaos --help` and `pipechaos validate` as ratios to `python -c pass`.

Goals: --help <= 3x, validate <= 8x (lazy imports: neither may import kubernetes, locust
or matplotlib). Medians over several runs of each, measured in this same run.
"""

from __future__ import annotations

import atexit
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 15
HEAVY = ("locust", "gevent", "kubernetes", "matplotlib")


PLUGINS = ROOT / "tests" / "core" / "plugins"
# Bytecode is cached (in a private directory, not the source tree) as after `pip install`:
# with PYTHONDONTWRITEBYTECODE set, every run would recompile chaos/ from source.
PYCACHE = tempfile.mkdtemp(prefix="pipechaos-pycache-")
atexit.register(shutil.rmtree, PYCACHE, ignore_errors=True)
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPATH": f"{PLUGINS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    "PYTHONPYCACHEPREFIX": PYCACHE,
}


def timed(args: list[str]) -> tuple[float, float]:
    """Median wall time and median CPU time (user + sys of the child) over RUNS runs,
    after one warm-up run. CPU time hardly moves when other work shares the machine."""
    subprocess.run(args, cwd=ROOT, capture_output=True, check=False, env=ENV)
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            args,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            env=ENV,
        )
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def heavy_imports(args: list[str]) -> list[str]:
    """Modules from HEAVY that the command imports (python -X importtime)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    names = {
        line.split("|")[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    return sorted(names & set(HEAVY))


def library_file() -> Path:
    for candidate in sorted((ROOT / "experiments").glob("*.yaml")):
        ok = subprocess.run(
            [sys.executable, "-m", "chaos", "validate", str(candidate)],
            cwd=ROOT,
            capture_output=True,
            check=False,
            env=ENV,
        )
        if ok.returncode == 0:
            return candidate
    raise SystemExit("no valid experiment in experiments/ to time validate on")


def main() -> int:
    exp = library_file()
    base = timed([sys.executable, "-c", "pass"])
    rows = [
        ("pipechaos --help", [sys.executable, "-m", "chaos", "--help"], 3.0),
        (
            f"pipechaos validate {exp.relative_to(ROOT)}",
            [sys.executable, "-m", "chaos", "validate", str(exp)],
            8.0,
        ),
        (
            "pipechaos validate, core only (test plugins: no numpy/httpx plugin imports)",
            [
                sys.executable,
                "-m",
                "chaos",
                "validate",
                str(PLUGINS.parent / "files" / "experiments" / "markers.yaml"),
            ],
            8.0,
        ),
    ]
    print(
        f"baseline python -c pass: wall {base[0] * 1000:.1f} ms, cpu {base[1] * 1000:.1f} ms"
        f" (medians of {RUNS}; load average {os.getloadavg()[0]:.1f}; bytecode cached)"
    )
    for name, args, goal in rows:
        wall, cpu = timed(args)
        heavy = heavy_imports(args[1:])
        ratio_cpu = cpu / base[1]
        verdict = "ok" if ratio_cpu <= goal and not heavy else "OVER GOAL"
        print(
            f"{name}: wall {wall * 1000:.1f} ms = {wall / base[0]:.1f}x, cpu {cpu * 1000:.1f} ms"
            f" = {ratio_cpu:.1f}x (goal <= {goal:g}x) heavy imports: {', '.join(heavy) or 'none'}"
            f" -> {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
