"""What the launcher reports when the load stops: offered vs achieved, outcomes, lag.

Pure: built from the history (authoritative, includes processes that died), the merged
per-second rows and each process's done file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chaos.checks.model import FAIL, INFO, OK, History


def summarize(
    history: History,
    per_second: list[dict[str, int]],
    done: list[dict[str, Any]],
    t0: int,
    window_s: float,
    processes: int = 1,
) -> dict[str, Any]:
    """Stats for LoadGenerator.stop(); rates are per second over the load window."""
    outcome = history.outcome
    counts = {
        "ok": int(np.count_nonzero(outcome == OK)),
        "fail": int(np.count_nonzero(outcome == FAIL)),
        "info": int(np.count_nonzero(outcome == INFO)),
        "unanswered": int(np.count_nonzero(history.t_done < 0)),
        "poison": int(np.count_nonzero(history.poison)),
    }
    window_ns = int(window_s * 1e9)
    ok_in_window = np.count_nonzero((outcome == OK) & (history.t_done < t0 + window_ns))
    if len(done) == processes:
        offered = sum(int(d.get("offered", 0)) for d in done)
    else:  # a process died without reporting: count what it claimed (its info rows too)
        offered = len(outcome)
    lag = [d["schedule_lag_ms"] for d in done if "schedule_lag_ms" in d]
    return {
        "t0": t0,
        "window_s": window_s,
        "orders": len(outcome),
        "offered": offered,
        "counts": counts,
        "errors": _error_counts(history),
        "offered_rate": offered / window_s if window_s > 0 else 0.0,
        "achieved_rate": float(ok_in_window) / window_s if window_s > 0 else 0.0,
        "overloaded": sum(int(d.get("overloaded", 0)) for d in done),
        "schedule_lag_ms": {
            k: max((x[k] for x in lag), default=0.0) for k in ("p50", "p99", "max")
        },
        "per_second": per_second,
    }


def _error_counts(history: History) -> dict[str, int]:
    codes, n = np.unique(history.error_code[history.error_code >= 0], return_counts=True)
    return {history.error[int(c)]: int(k) for c, k in zip(codes, n, strict=True)}
