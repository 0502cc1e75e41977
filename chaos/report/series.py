"""The curves of report.html, per second of run time (seconds from t0), computed from the
run directory's history, observations and timeseries with the checks' own readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chaos.checks.model import COMPLETED, F64, FAIL, INFO, OK
from chaos.checks.runner import load_run

SAMPLED = ("lag", "pending", "pods_ready")
MAX_SECONDS = 7 * 24 * 3600  # clocks gone wrong, not a run: no plot of a billion buckets


@dataclass(frozen=True)
class Series:
    """x values in seconds from t0; one named y array per curve (NaN: no data)."""

    seconds: F64  # per-second buckets (their left edges)
    per_second: dict[str, F64]  # publish_ok, publish_fail, publish_info, completions, p50, p99
    sample_t: F64  # the sampler's times
    sampled: dict[str, F64]  # lag, pending, pods_ready
    problems: dict[str, str] = field(default_factory=dict)


def _buckets(times_ns: np.ndarray, t0: int, n: int) -> np.ndarray:
    idx = (times_ns - t0) // 1_000_000_000
    return np.asarray(idx[(idx >= 0) & (idx < n)], dtype=np.int64)


def _count(times_ns: np.ndarray, t0: int, n: int) -> F64:
    return np.bincount(_buckets(times_ns, t0, n), minlength=n).astype(np.float64)


def _percentiles(t_ns: np.ndarray, lat_ms: np.ndarray, t0: int, n: int) -> tuple[F64, F64]:
    """p50 and p99 of the latencies of the orders published in each second."""
    p50, p99 = np.full(n, np.nan), np.full(n, np.nan)
    idx = (t_ns - t0) // 1_000_000_000
    keep = (idx >= 0) & (idx < n)
    idx, lat_ms = idx[keep], lat_ms[keep]
    if not len(idx):
        return p50, p99
    order = np.lexsort((lat_ms, idx))
    idx, lat_ms = idx[order], lat_ms[order]
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    ends = np.r_[starts[1:], len(idx)]
    for a, b in zip(starts, ends, strict=True):
        group = lat_ms[a:b]  # sorted: nearest-rank percentiles without another sort
        p50[idx[a]] = group[min(len(group) - 1, int(np.ceil(0.50 * len(group))) - 1)]
        p99[idx[a]] = group[min(len(group) - 1, int(np.ceil(0.99 * len(group))) - 1)]
    return p50, p99


def series_of(run_dir: Path, t0: int | None, end_ns: int | None) -> Series:
    """Everything plotted, from t0 to `end_ns` (the run's last journal time)."""
    from chaos.checks.latency import measure  # hdrh: only when a report is rendered

    data = load_run(run_dir)
    h, obs, ts = data.history, data.observations, data.timeseries
    if t0 is None:  # no journal: the first publish, else the first sample
        t0 = int(h.t_invoke.min()) if len(h.t_invoke) else int(ts.t[0]) if len(ts.t) else 0
    ends = [int(end_ns or 0), int(h.t_invoke.max(initial=0)),
            int(obs.t_terminal.max(initial=0)), int(ts.t.max(initial=0))]
    n = max(1, (max(ends) - t0) // 1_000_000_000 + 1)
    if n > MAX_SECONDS:
        raise ValueError(f"{n} s between t0 and the last record: more than {MAX_SECONDS} s")
    per: dict[str, F64] = {
        "publish_ok": _count(h.t_invoke[h.outcome == OK], t0, n),
        "publish_fail": _count(h.t_invoke[h.outcome == FAIL], t0, n),
        "publish_info": _count(h.t_invoke[h.outcome == INFO], t0, n),
        "completions": _count(obs.t_terminal[(obs.outcome >= COMPLETED) & (obs.t_terminal >= 0)],
                              t0, n),
    }
    if len(h.order_id) and len(obs.order_id):
        rows, lat_us, _, _, _ = measure(h, obs, data.phases, "invoke")
        per["p50"], per["p99"] = _percentiles(h.t_invoke[rows], lat_us / 1000.0, t0, n)
    else:
        per["p50"], per["p99"] = np.full(n, np.nan), np.full(n, np.nan)
    sampled = {k: ts.columns[k] for k in SAMPLED if k in ts.columns}
    return Series(
        seconds=np.arange(n, dtype=np.float64),
        per_second=per,
        sample_t=(ts.t - t0) / 1e9,
        sampled=sampled,
        problems=dict(data.problems),
    )
