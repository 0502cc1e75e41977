"""How often a plain failover loses acknowledged orders: broker-failover without its
replication partition, on plain asynchronous replication (reference-local-ha-unsafe).

The experiment file partitions replication first so that its negative control loses data
every time; this measures the race it removes: SIGKILL the primary under load and count
the runs in which the promoted replica lacked something the primary had acknowledged.

    python benchmarks/failover_loss.py --runs 10          # ~1.5 min a run
    python benchmarks/failover_loss.py --runs 0           # only write and validate the file

Prints one line per run (lost orders, ok publishes, failed over) and
`plain failover lost data in K of N runs (lost orders per run: ...)`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET = "reference-local-ha-unsafe"


def plain_experiment(dest: Path) -> Path:
    """broker-failover.yaml minus the replication partition, against the unsafe target."""
    doc = yaml.safe_load((ROOT / "experiments" / "broker-failover.yaml").read_text())
    doc["metadata"]["name"] = "broker-failover-plain"
    doc["target"] = TARGET
    doc["faults"] = [f for f in doc["faults"] if f["type"] != "network.partition"]
    assert [f["type"] for f in doc["faults"]] == ["pod.kill"], doc["faults"]
    path = dest / "broker-failover-plain.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def one_run(experiment: Path, run_dir: Path, seed: int) -> dict[str, object]:
    env = {**os.environ, "PIPECHAOS_LOCK_DIR": str(run_dir.parent / "locks")}
    proc = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(experiment), "--run-dir", str(run_dir),
         "--seed", str(seed)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    result = json.loads((run_dir / "result.json").read_text()) if (
        run_dir / "result.json").exists() else {}
    delivery = next((v for v in result.get("verdicts", []) if v["name"] == "delivery"), None)
    if delivery is None:
        return {"error": f"exit {proc.returncode}: {result.get('reason')}"}
    obs = json.loads((run_dir / "observations.json").read_text())
    metrics = delivery["metrics"]
    return {"lost": int(metrics["lost"]), "ok": int(metrics.get("ok", 0)),
            "failed_over": bool(obs.get("broker", {}).get("failed_over"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--dir", type=Path, help="keep the runs here (default: a temp dir)")
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="failover-loss-"))
    base.mkdir(parents=True, exist_ok=True)
    experiment = plain_experiment(base)
    check = subprocess.run([sys.executable, "-m", "chaos", "validate", str(experiment)],
                           cwd=ROOT, capture_output=True, text=True, check=False)
    print(check.stdout.strip() or check.stderr.strip())
    if check.returncode != 0:
        return 2
    losses: list[int] = []
    for i in range(args.runs):
        row = one_run(experiment, base / f"run-{i}", seed=100 + i)
        print(f"run {i}: {row}", flush=True)
        if "error" not in row and row["failed_over"]:
            losses.append(int(str(row["lost"])))
    if args.runs:
        lossy = sum(1 for n in losses if n > 0)
        print(f"plain failover lost data in {lossy} of {len(losses)} runs "
              f"(lost orders per run: {losses}; runs without a failover or result: "
              f"{args.runs - len(losses)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
