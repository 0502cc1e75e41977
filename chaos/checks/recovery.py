"""`recovery`: after the last heal the backlog returns to its baseline level in time,
and (optionally) work kept flowing while faults were active.

Baseline level of a metric = its p95 over the baseline phase's samples + `slack`
(no baseline samples: 0 + slack). Recovered = the first sample at or after the last
fault window's end from which every metric stays at or below its level for `hold`
(or until the timeseries ends). Progress: completions in each full `per` window of the
fault phase, integrating `completion_rate` as a step function; a failed sample (NaN)
counts as zero, so an unknown can never make the check pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chaos.checks.base import counted
from chaos.checks.model import F64, History, Observations, Phases, Timeseries, Verdict
from chaos.checks.specs import RecoverySpec

RATE = "completion_rate"


def baseline_level(ts: Timeseries, column: str, phases: Phases, slack: float) -> float:
    values = ts.columns[column]
    if "baseline" in phases.bounds:
        start, end = phases.bounds["baseline"]
        values = values[(ts.t >= start) & (ts.t < end)]
    else:
        values = values[:0]
    values = values[~np.isnan(values)]
    return (float(np.percentile(values, 95)) if len(values) else 0.0) + slack


def recovered_at(t: np.ndarray, within_level: np.ndarray, heal: int, hold_ns: int) -> int | None:
    """First sample time >= heal from which `within_level` holds for `hold_ns`."""
    after = np.flatnonzero(t >= heal)
    for k in after:
        if not within_level[k]:
            continue
        stop = np.searchsorted(t, t[k] + hold_ns, side="left")
        if np.all(within_level[k:stop]):
            return int(t[k])
    return None


def completions(t: np.ndarray, rate: F64, starts: np.ndarray, width_ns: int) -> F64:
    """Completions in each window [s, s + width) of a rate held from one sample to the next."""
    r = np.nan_to_num(rate, nan=0.0)
    seconds = np.diff(t).astype(np.float64) / 1e9
    cumulative = np.concatenate([[0.0], np.cumsum(r[:-1] * seconds)])

    def at(x: np.ndarray) -> F64:
        k = np.clip(np.searchsorted(t, x, side="right") - 1, 0, len(t) - 1)
        before = cumulative[k] + r[k] * np.maximum(x - t[k], 0) / 1e9
        return np.where(x < t[0], 0.0, before)

    result: F64 = at(starts + width_ns) - at(starts)
    return result


class Recovery(RecoverySpec):
    """The implementation; name, inputs and parameters come from the spec."""

    def __call__(
        self,
        history: History,
        observations: Observations,
        timeseries: Timeseries,
        phases: Phases,
        params: dict[str, Any],
    ) -> Verdict:
        p, cfg = self._parse(params)
        p.done()
        ts = timeseries
        metrics: dict[str, Any] = {"within_s": cfg["within"], "faults": len(phases.faults)}
        wanted = cfg["metrics"] + ([RATE] if cfg["progress"] else [])
        absent = [c for c in wanted if c not in ts.columns]
        if absent:
            summary = f"timeseries has no column {', '.join(absent)}"
            return Verdict(self.name, False, summary, metrics)
        if not phases.faults:
            return Verdict(self.name, True, "no fault windows: nothing to recover from", metrics)
        if len(ts.t) == 0:
            return Verdict(self.name, False, "timeseries has no samples", metrics)

        heal = max(w.end for w in phases.faults)
        levels = {c: baseline_level(ts, c, phases, cfg["slack"]) for c in cfg["metrics"]}
        ok_now = np.ones(len(ts.t), dtype=np.bool_)
        for c, level in levels.items():
            ok_now &= ts.columns[c] <= level  # NaN compares False: unknown is not recovered
        back = recovered_at(ts.t, ok_now, heal, int(cfg["hold"] * 1e9))
        metrics["levels"] = levels
        problems = []
        if back is None:
            last = (int(ts.t[-1]) - heal) / 1e9
            metrics["recovery_s"] = None
            problems.append(
                f"not back to baseline level by the end ({last:.1f}s after heal)"
                if last >= 0
                else f"timeseries ends {-last:.1f}s before the last heal"
            )
        else:
            took = (back - heal) / 1e9
            metrics["recovery_s"] = round(took, 3)
            if took > cfg["within"]:
                problems.append(f"back to baseline {took:.1f}s after heal > {cfg['within']:g}s")

        if cfg["progress"] is not None:
            need, per = cfg["progress"]
            start, end = phases.bounds.get(
                "fault", (min(w.start for w in phases.faults), heal)
            )
            width = int(per * 1e9)
            n = max(1, (end - start) // width)
            width = min(width, end - start) if (end - start) < width else width
            need = need * width / (per * 1e9)
            starts = start + width * np.arange(n, dtype=np.int64)
            done = completions(ts.t, ts.columns[RATE], starts, width) if len(ts.t) else (
                np.zeros(n)
            )
            worst = float(done.min()) if len(done) else 0.0
            slow = int(np.count_nonzero(done < need))
            metrics["progress"] = {"windows": int(n), "below_min": slow, "min_seen": worst}
            if slow:
                problems.append(
                    f"{slow} of {counted(int(n), 'fault window')} under {need:g} completions "
                    f"(min {worst:.1f})"
                )
        summary = "; ".join(problems) if problems else (
            f"back to baseline {metrics['recovery_s']:.1f}s after heal "
            f"(bound {cfg['within']:g}s)"
        )
        return Verdict(self.name, not problems, summary, metrics)


CHECK = Recovery()
