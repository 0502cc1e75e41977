"""`metrics_truth`: did the pipeline's own dashboard tell the truth during and after each
fault? Its duplicate count and its lag, as the prometheus probe sampled them into the
timeseries, against what the history and the observations prove.

Windows: each fault's window runs from its start to the next fault's start (the last one's
to the end of the timeseries: its recovery and drain), so "during and after" each fault is
judged once; one more row covers the whole run.

- **Duplicates.** Truth: the observations' `redeliveries` (deliveries beyond an order's
  first) of the orders that turned terminal in the window (never terminal: at the end).
  Shown: the increase of the pipeline's duplicate counters over the window, one sampler
  interval later (a counter is sampled after it counts). Each counter column is made
  reset-aware as Prometheus's `increase()` is (a restarted pod counts from 0 again), then
  they are summed: one column per pod, so a pod that cannot be scraped for a while (a
  paused one) leaves a gap, not a drop. Agree: |shown - truth| <= max(dup_slack,
  dup_tolerance x truth).
- **Lag.** Truth: the peak over the window of the age of the oldest order published and
  not yet terminal (publish invoke time from the history, terminal time from the
  observations), in ms. Shown: the peak of the pipeline's lag gauge over the window.
  Fails when the dashboard hid lag: shown < truth - max(lag_slack, lag_tolerance x
  truth). Showing more lag than the truth is not judged: a consumer that wakes from a pause
  holds (and shows) work that another consumer has since finished.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import numpy as np

from chaos.checks.model import (
    F64,
    FAIL,
    I64,
    NONE,
    History,
    Observations,
    Phases,
    Timeseries,
    Verdict,
)
from chaos.checks.truth_spec import MetricsTruthSpec


def increase(t: I64, values: F64) -> tuple[I64, F64]:
    """Reset-aware cumulative increase of one counter at its finite samples."""
    keep = np.isfinite(values)
    t, v = t[keep], values[keep]
    if len(v) == 0:
        return t, v
    step = np.diff(v)
    grown = np.where(step >= 0, step, v[1:])  # a drop is a restart from 0
    return t, np.concatenate([[0.0], np.cumsum(grown)])


def at(t: I64, cumulative: F64, x: int) -> float:
    """The cumulative value at the last sample at or before `x` (0 before the first)."""
    k = int(np.searchsorted(t, x, side="right")) - 1
    return float(cumulative[k]) if k >= 0 else 0.0


def lag_truth_ms(invoke: I64, terminal: I64, start: int, end: int) -> float:
    """Peak age (ms) over [start, end) of the oldest order published and not terminal."""
    live = (invoke < end) & (terminal > start)
    if not np.any(live):
        return 0.0
    ages = np.minimum(terminal[live], end) - invoke[live]
    return float(ages.max()) / 1e6


class MetricsTruth(MetricsTruthSpec):
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
        dup_cols = sorted(c for c in ts.columns if fnmatch.fnmatchcase(c, cfg["duplicates"]))
        metrics: dict[str, Any] = {"duplicates_columns": dup_cols, "lag_column": cfg["lag"]}
        if not dup_cols or cfg["lag"] not in ts.columns:
            wanted = [] if dup_cols else [cfg["duplicates"]]
            wanted += [] if cfg["lag"] in ts.columns else [cfg["lag"]]
            summary = (f"timeseries has no column {', '.join(wanted)}: the target samples "
                       "no such metric (a prometheus probe in probes.settings)")
            return Verdict(self.name, False, summary, metrics)
        if len(ts.t) < 2:
            return Verdict(self.name, False, "timeseries has fewer than 2 samples", metrics)
        if not phases.faults:
            return Verdict(self.name, True, "no fault windows: nothing to judge", metrics)

        end = int(ts.t[-1])
        step = int(np.median(np.diff(ts.t)))
        # the orders the pipeline saw and the publisher did not see fail, with their times
        _, hi, oi = np.intersect1d(history.order_id, observations.order_id,
                                        assume_unique=True, return_indices=True)
        seen = history.outcome[hi] != FAIL
        invoke = history.t_invoke[hi][seen]
        terminal = observations.t_terminal[oi][seen].astype(np.int64)
        terminal = np.where((terminal < 0) | (observations.outcome[oi][seen] == NONE),
                            end, terminal)
        t_done = np.where(observations.t_terminal < 0, end, observations.t_terminal)
        redeliveries = observations.redeliveries.astype(np.int64)
        counters = [increase(ts.t, ts.columns[c]) for c in dup_cols]
        lag = ts.columns[cfg["lag"]]

        def shown_dups(start: int, stop: int) -> float:
            return sum(at(t, c, stop + step) - at(t, c, start + step) for t, c in counters)

        def shown_lag(start: int, stop: int) -> float | None:
            inside = lag[(ts.t > start) & (ts.t <= stop + step)]
            inside = inside[np.isfinite(inside)]
            return float(inside.max()) if len(inside) else None

        windows = sorted(phases.faults, key=lambda w: w.start)
        rows: list[tuple[str, int, int]] = [
            (w.id, w.start, windows[i + 1].start if i + 1 < len(windows) else end)
            for i, w in enumerate(windows)
        ]
        rows.append(("run", int(ts.t[0]), end))
        problems: list[str] = []
        table: list[dict[str, Any]] = []
        for name, start, stop in rows:
            last = stop >= end
            mask = (t_done >= start) & ((t_done < stop) | last)
            truth = int(redeliveries[mask].sum())
            shown = shown_dups(start - (step if name == "run" else 0), stop)
            allowed = max(cfg["dup_slack"], cfg["dup_tolerance"] * truth)
            peak = lag_truth_ms(invoke, terminal, start, stop)
            seen_peak = shown_lag(start, stop)
            short = max(cfg["lag_slack"] * 1000, cfg["lag_tolerance"] * peak)
            table.append({"window": name, "from_s": round((start - int(ts.t[0])) / 1e9, 2),
                          "to_s": round((stop - int(ts.t[0])) / 1e9, 2),
                          "duplicates": {"truth": truth, "shown": round(shown, 1)},
                          "lag_ms": {"truth_peak": round(peak, 1), "shown_peak": seen_peak}})
            if abs(shown - truth) > allowed:
                problems.append(f"{name}: the pipeline counted {shown:g} duplicates, "
                                f"the observations prove {truth}")
            if seen_peak is None:
                problems.append(f"{name}: no lag sample")
            elif seen_peak < peak - short:
                problems.append(f"{name}: the pipeline showed lag {seen_peak:g} ms at most, "
                                f"the history proves {peak:.0f} ms")
        metrics["windows"] = table
        metrics["duplicates_truth"] = table[-1]["duplicates"]["truth"]
        metrics["duplicates_shown"] = table[-1]["duplicates"]["shown"]
        if problems:
            more = f" (+{len(problems) - 2} more)" if len(problems) > 2 else ""
            return Verdict(self.name, False, "; ".join(problems[:2]) + more, metrics)
        run = table[-1]
        summary = (f"duplicates {run['duplicates']['shown']:g} shown / {run['duplicates']['truth']}"
                   f" proven; lag peak {run['lag_ms']['shown_peak']:g} ms shown / "
                   f"{run['lag_ms']['truth_peak']:.0f} ms proven, in every fault window")
        return Verdict(self.name, True, summary, metrics)


CHECK = MetricsTruth()
