"""`latency`: end-to-end latency per phase, bounded absolutely or against the baseline.

Latency of an order = terminal time - publish time (invoke, or the broker's ack with
`from: ok`), over `ok`, non-poison publishes that reached a terminal outcome, grouped by
the phase its publish fell in. Percentiles come from an HDR histogram (3 significant
digits, microsecond unit), so `p99` is HDR's value at the 99th percentile: the highest
value equivalent to the recorded one, never an interpolation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from chaos.checks.base import counted
from chaos.checks.hdr import histograms
from chaos.checks.locate import CHUNK, OUTSIDE, lookup, offenders, phase_codes
from chaos.checks.model import (
    COMPLETED,
    I64,
    OK,
    Bool,
    History,
    Observations,
    Phases,
    Timeseries,
    Verdict,
)
from chaos.checks.specs import LatencySpec

REPORTED = ("p50", "p90", "p99", "max")
BASELINE = "baseline"


def stat_value(h: HdrHistogram, stat: str) -> float:
    """The statistic in seconds."""
    if stat == "max":
        return float(h.get_max_value()) / 1e6
    return float(h.get_value_at_percentile(float(stat[1:]))) / 1e6


def measure(
    history: History, obs: Observations, phases: Phases, start_at: str
) -> tuple[Bool, I64, list[str], np.ndarray, int]:
    """Rows measured, their latency (us), phase names and code per measured row, and the
    number of ok publishes never terminal. Chunked: temporaries stay a few MB."""
    n = len(history.order_id)
    rows = np.zeros(n, dtype=np.bool_)
    lat_us = np.empty(n, dtype=np.int64)
    codes = np.empty(n, dtype=np.int16)
    names = [*phases.bounds, OUTSIDE]
    filled = not_terminal = 0
    idx, seen = lookup(obs.order_id, history.order_id)
    for a in range(0, n, CHUNK):
        part = slice(a, a + CHUNK)
        i, s = idx[part], seen[part]
        ok = history.outcome[part] == OK
        if len(obs.order_id):
            t_end = obs.t_terminal[i]
            final = s & (obs.outcome[i] >= COMPLETED) & (t_end >= 0)
        else:
            t_end, final = np.zeros(len(i), np.int64), s
        not_terminal += int(np.count_nonzero(ok & ~final))
        r = ok & ~history.poison[part] & final
        rows[part] = r
        t0 = history.t_invoke[part][r]
        if start_at == "ok":
            done = history.t_done[part][r]
            t_from = np.where(done >= 0, done, t0)
        else:
            t_from = t0
        k = len(t0)
        lat_us[filled : filled + k] = np.maximum(t_end[r] - t_from, 0) // 1000
        codes[filled : filled + k] = phase_codes(phases, t0)[1]
        filled += k
    return rows, lat_us[:filled], names, codes[:filled], not_terminal


class Latency(LatencySpec):
    """The implementation; name, inputs and parameters come from the spec."""

    def __call__(
        self,
        history: History,
        observations: Observations,
        timeseries: Timeseries,
        phases: Phases,
        params: dict[str, Any],
    ) -> Verdict:
        p, bounds, wanted, start_at = self._parse(params)
        p.done()
        rows, lat_us, names, codes, not_terminal = measure(history, observations, phases, start_at)
        n_measured = len(lat_us)

        stats: dict[str, dict[str, Any]] = {}
        hists: dict[str, HdrHistogram] = {}
        for name, (h, clamped) in zip(names, histograms(lat_us, codes, len(names)), strict=True):
            if h.get_total_count() == 0:
                continue
            hists[name] = h
            keys = dict.fromkeys([*REPORTED, *bounds])
            stats[name] = {"count": int(h.get_total_count())}
            stats[name].update({f"{k}_ms": round(stat_value(h, k) * 1e3, 3) for k in keys})
            if clamped:
                stats[name]["clamped"] = clamped

        selected = wanted if wanted is not None else list(stats)
        problems: list[str] = []
        checked: list[dict[str, Any]] = []
        slow = np.zeros(n_measured, dtype=np.bool_)
        for phase in selected:
            if phase not in hists:
                problems.append(f"no terminal orders published in phase {phase}")
                continue
            for stat, bound in bounds.items():
                base = stat_value(hists[BASELINE], stat) if BASELINE in hists else None
                limit = bound.limit(base)
                if limit is None:
                    problems.append(f"{stat}: {bound.describe()} needs baseline data, none")
                    continue
                value = stat_value(hists[phase], stat)
                ok = value <= limit
                checked.append({"phase": phase, "stat": stat, "bound": bound.describe(),
                                "limit_ms": round(limit * 1e3, 3),
                                "value_ms": round(value * 1e3, 3), "ok": ok})
                if not ok:
                    problems.append(
                        f"{phase} {stat} {value * 1e3:.1f}ms > {limit * 1e3:.1f}ms "
                        f"({bound.describe()})"
                    )
                    phase_i = names.index(phase)
                    slow |= (codes == phase_i) & (lat_us > int(limit * 1e6))

        slow_rows = np.flatnonzero(rows)[slow]
        total, sample = offenders(
            phases,
            [(history.order_id[slow_rows], history.t_invoke[slow_rows],
              np.ones(len(slow_rows), dtype=np.bool_))],
            observations.handled_by,
        )
        metrics: dict[str, Any] = {
            "phases": stats,
            "bounds": checked,
            "measured": n_measured,
            "not_terminal": not_terminal,
            "from": start_at,
        }
        if problems:
            summary = "; ".join(problems)
        else:
            parts = [f"{ph} p99 {v['p99_ms']:.1f}ms" for ph, v in stats.items() if ph in selected]
            summary = ", ".join(parts) if parts else "no latency data"
            if checked:
                verb = "holds" if len(checked) == 1 else "hold"
                summary = f"{counted(len(checked), 'bound')} {verb}: {summary}"
        return Verdict(self.name, not problems, summary, metrics, total, sample)


CHECK = Latency()
