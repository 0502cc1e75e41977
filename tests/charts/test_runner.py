"""The runner chart's CronJobs (one per schedule, safe defaults, the command), and its
ConfigMaps: the library as the chart ships it, the user's own files, all valid."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.charts.render import CHARTS, NAMESPACE, RUNNER_SETS, find, one, render
from tests.system import ROOT

VALUES_DIR = Path(__file__).parent / "values"


def schedules(value_set: str) -> list[dict[str, Any]]:
    if value_set == "default":
        values = yaml.safe_load((CHARTS / "pipechaos" / "values.yaml").read_text())
    else:
        values = yaml.safe_load((VALUES_DIR / f"runner-{value_set}.yaml").read_text())
    out: list[dict[str, Any]] = values["schedules"]
    return out


def test_the_chart_ships_the_current_library() -> None:
    """charts/pipechaos/files/ is a copy (Helm reads nothing outside the chart): `make
    chart-files` refreshes it."""
    shipped = CHARTS / "pipechaos" / "files"
    library = sorted(p.name for p in (ROOT / "experiments").glob("*.yaml"))
    assert sorted(p.name for p in (shipped / "experiments").glob("*.yaml")) == library, \
        "run `make chart-files`"
    _, mismatch, errors = filecmp.cmpfiles(ROOT / "experiments", shipped / "experiments",
                                           library, shallow=False)
    assert mismatch == [] and errors == [], f"run `make chart-files`: {mismatch + errors}"
    assert filecmp.cmp(ROOT / "targets" / "reference-k8s.yaml",
                       shipped / "targets" / "reference-k8s.yaml", shallow=False), \
        "run `make chart-files`"


@pytest.mark.parametrize("value_set", RUNNER_SETS)
def test_one_cronjob_per_schedule(value_set: str) -> None:
    docs = render("pipechaos", value_set)
    wanted = schedules(value_set)
    assert len(find(docs, "CronJob")) == len(wanted)
    values = yaml.safe_load((CHARTS / "pipechaos" / "values.yaml").read_text())
    for s in wanted:
        cj = one(docs, "CronJob", f"t-{s['name']}")
        spec = cj["spec"]
        assert spec["schedule"] == s["cron"]
        assert spec.get("timeZone") == s.get("timeZone")
        assert spec["suspend"] is s.get("suspend", False)
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["startingDeadlineSeconds"] > 0
        assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
        job = spec["jobTemplate"]["spec"]
        assert job["backoffLimit"] == 0  # a failing verdict is not re-run
        if value_set == "network":
            assert job["activeDeadlineSeconds"] == 900
        else:
            assert job["activeDeadlineSeconds"] == values["job"]["activeDeadlineSeconds"]
        pod = job["template"]["spec"]
        assert pod["restartPolicy"] == "Never"  # the run's exit code is the Job's outcome
        labels = job["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == "runner"  # admitted to the proxy API
        (c,) = pod["containers"]
        command = c["command"]
        assert command[:6] == ["tini", "-g", "--", "pipechaos", "run",
                               f"/etc/pipechaos/experiments/{s['experiment']}"]
        assert command[6:8] == ["--target", f"/etc/pipechaos/targets/{s['target']}"]
        rest = command[8:]
        if s.get("allowedHours"):
            assert rest[:2] == ["--allowed-hours", s["allowedHours"]]
            rest = rest[2:]
        else:
            assert "--allowed-hours" not in rest
        assert (rest == ["--pushgateway", "http://prometheus-pushgateway.monitoring.svc:9091"]
                if value_set == "pause-tls" else rest == [])
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        assert mounts["/var/lib/pipechaos"] == "runs" and c["workingDir"] == "/var/lib/pipechaos"
        runs = next(v for v in pod["volumes"] if v["name"] == "runs")
        claim = {"pause-tls": None, "own-files": "chaos-results"}.get(value_set, "t-runs")
        if claim is None:
            assert runs == {"name": "runs", "emptyDir": {}}
        else:
            assert runs["persistentVolumeClaim"] == {"claimName": claim}
    pvcs = find(docs, "PersistentVolumeClaim")
    own = value_set in ("default", "network")
    assert [p["metadata"]["name"] for p in pvcs] == (["t-runs"] if own else [])


def write_configmaps(docs: list[dict[str, Any]], where: Path) -> dict[str, Path]:
    """The rendered ConfigMaps' files, as the Job's pod sees them."""
    dirs = {}
    for kind in ("experiments", "targets"):
        folder = where / kind
        folder.mkdir()
        for name, text in one(docs, "ConfigMap", f"t-{kind}")["data"].items():
            (folder / name).write_text(text)
        dirs[kind] = folder
    return dirs


def pipechaos(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chaos", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("value_set", ["default", "pause-tls", "own-files", "network"])
def test_rendered_configmap_files_pass_validate(value_set: str, tmp_path: Path) -> None:
    docs = render("pipechaos", value_set)
    dirs = write_configmaps(docs, tmp_path)
    by_target: dict[str, list[Path]] = {}
    for s in schedules(value_set):
        by_target.setdefault(s["target"], []).append(dirs["experiments"] / s["experiment"])
    for target, experiments in by_target.items():  # the target is validated with them
        proc = pipechaos("validate", *experiments, "--target", dirs["targets"] / target)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    target = yaml.safe_load((dirs["targets"] / "reference-k8s.yaml").read_text())
    expected_ns = "shop-staging" if value_set == "own-files" else NAMESPACE
    assert target["platform"]["settings"]["namespace"] == expected_ns
    shipped = sorted(p.name for p in (CHARTS / "pipechaos" / "files" / "experiments").glob("*"))
    assert set(shipped) <= {p.name for p in dirs["experiments"].iterdir()}
