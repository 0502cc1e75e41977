"""Start-up time of `pipechaos --help` and `pipechaos validate` as ratios to `python -c pass`.

Goals: --help <= 3x, validate <= 8x (lazy imports: neither may import numpy, hdrh, httpx,
kubernetes, locust, matplotlib, pydantic or ruamel). Medians over interleaved rounds,
measured in this same run; the verdict uses the median CPU-time ratio, the min ratio shows
the least-disturbed run. Commands run as users run them (`python -m chaos`, the console
entry), which for read-only verbs includes skipping the interpreter's teardown
(`chaos.cli.console`): about 1x of validate's ratio.
"""

from __future__ import annotations

import argparse
import atexit
import json
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
HEAVY = (
    "numpy", "hdrh", "httpx", "locust", "gevent", "kubernetes", "matplotlib", "pydantic",
    "ruamel", "importlib_metadata",
)


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


def run_once(args: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + sys of the child) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def timed(
    commands: list[list[str]], runs: int, warm: bool = True
) -> list[tuple[float, float, float]]:
    """(median wall, median CPU, min CPU) per command over `runs` rounds, after a warm-up.
    Rounds interleave the commands, so load from other work hits baseline and commands
    alike; the minimum CPU time is the run least disturbed by it."""
    for args in commands if warm else []:
        run_once(args)
    samples: list[list[tuple[float, float]]] = [[] for _ in commands]
    for _ in range(runs):
        for i, args in enumerate(commands):
            samples[i].append(run_once(args))
    return [
        (
            statistics.median(w for w, _ in runs),
            statistics.median(c for _, c in runs),
            min(c for _, c in runs),
        )
        for runs in samples
    ]


MODULES = """
import json, sys
from chaos.cli import main  # main(), not the console entry: that one skips teardown
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stderr.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""


def heavy_imports(args: list[str]) -> list[str]:
    """Packages from HEAVY in sys.modules after `pipechaos ARGS` (entry-point loads too)."""
    proc = subprocess.run(
        [sys.executable, "-c", MODULES, *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("MODULES ")), None)
    if line is None:
        return ["(could not list modules)"]
    names = {m.split(".")[0] for m in json.loads(line.removeprefix("MODULES "))}
    return sorted(names & set(HEAVY))


def library_file() -> Path:
    """experiments/broker-kill.yaml, the file the goal was set on (a pod fault, no proxy
    fault); else the first library file that validates."""
    named = ROOT / "experiments" / "broker-kill.yaml"
    for candidate in [named, *sorted((ROOT / "experiments").glob("*.yaml"))]:
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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=RUNS)
    ap.add_argument("--smoke", action="store_true", help="one round (make test)")
    args = ap.parse_args()
    runs = 1 if args.smoke else args.rounds
    exp = library_file()
    rows = [
        ("pipechaos --help", ["--help"], 3.0),
        (f"pipechaos validate {exp.relative_to(ROOT)}", ["validate", str(exp)], 8.0),
        (
            "pipechaos validate, core only (test plugins: no numpy/httpx plugin imports)",
            ["validate", str(PLUGINS.parent / "files" / "experiments" / "markers.yaml")],
            8.0,
        ),
    ]
    commands = [[sys.executable, "-c", "pass"]]
    commands += [[sys.executable, "-m", "chaos", *args] for _, args, _ in rows]
    base, *results = timed(commands, runs, warm=not args.smoke)
    print(
        f"baseline python -c pass: wall {base[0] * 1000:.1f} ms, cpu {base[1] * 1000:.1f} ms,"
        f" min cpu {base[2] * 1000:.1f} ms (medians of {runs} interleaved rounds;"
        f" load average {os.getloadavg()[0]:.1f}; bytecode cached)"
    )
    for (name, args, goal), (wall, cpu, cpu_min) in zip(rows, results, strict=True):
        heavy = heavy_imports(args)
        ratio_cpu = cpu / base[1]
        verdict = "ok" if ratio_cpu <= goal and not heavy else "OVER GOAL"
        print(
            f"{name}: wall {wall * 1000:.1f} ms = {wall / base[0]:.1f}x, cpu {cpu * 1000:.1f} ms"
            f" = {ratio_cpu:.1f}x (min {cpu_min / base[2]:.1f}x; goal <= {goal:g}x)"
            f" heavy imports: {', '.join(heavy) or 'none'} -> {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
