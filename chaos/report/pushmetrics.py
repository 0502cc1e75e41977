"""The Prometheus samples of one run, from its result.json: a pure function, so what a
scheduled run reports to a Pushgateway is testable without one (the push is in
chaos/report/pushgateway.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chaos.report.result import EXIT

# Every status a run can end with: each is pushed, 1 for this run's and 0 for the others,
# so an alert on `pipechaos_run_status{status="failed"} == 1` needs no absent() logic.
STATUSES = tuple(EXIT)

HELP = {
    "pipechaos_verdict_ok": "1 when the invariant held in the experiment's last run, else 0",
    "pipechaos_run_duration_seconds": "wall time of the last run, first phase start to last end",
    "pipechaos_lost": "acknowledged orders lost in the last run (the delivery verdict)",
    "pipechaos_duplicates": "orders with a side effect applied twice or more in the last run "
                            "(the effects verdict)",
    "pipechaos_run_status": "1 for the status the last run ended with, 0 for the others",
}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def duration_seconds(phases: dict[str, dict[str, int | None]]) -> float:
    """First phase start to last phase end (nanosecond clocks); 0 when no phase ran (a
    skipped run, or one that failed before preparing)."""
    starts = [t for p in phases.values() if (t := p.get("start")) is not None]
    ends = [t for p in phases.values() if (t := p.get("end")) is not None]
    if not starts or not ends:
        return 0.0
    return max(0, max(ends) - min(starts)) / 1e9


def _metric_sum(verdicts: list[dict[str, Any]], key: str) -> int | None:
    """Sum of an integer metric over the verdicts that report it (found by the metric, not
    the verdict name: an experiment may name its invariants as it likes); None if none do."""
    values = [v["metrics"][key] for v in verdicts
              if isinstance(v.get("metrics"), dict) and isinstance(v["metrics"].get(key), int)]
    return sum(values) if values else None


def samples(result: dict[str, Any]) -> list[Sample]:
    """The samples for one result.json. Verdict, lost and duplicate samples exist only when
    the run computed them (a skipped, aborted-before-check or erroring run has no verdicts):
    a missing series means "not measured", never a made-up 0."""
    exp = {"experiment": str(result["experiment"])}
    verdicts: list[dict[str, Any]] = list(result.get("verdicts") or [])
    out = [Sample("pipechaos_verdict_ok", {**exp, "invariant": str(v["name"])},
                  1.0 if v.get("ok") else 0.0) for v in verdicts]
    out.append(Sample("pipechaos_run_duration_seconds", exp,
                      duration_seconds(result.get("phases") or {})))
    for name, key in (("pipechaos_lost", "lost"), ("pipechaos_duplicates", "duplicated_orders")):
        total = _metric_sum(verdicts, key)
        if total is not None:
            out.append(Sample(name, exp, float(total)))
    status = str(result["status"])
    for s in (*STATUSES, *(() if status in STATUSES else (status,))):
        out.append(Sample("pipechaos_run_status", {**exp, "status": s},
                          1.0 if s == status else 0.0))
    return out
