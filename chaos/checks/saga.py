"""`saga`: every saga ends, in time, completed exactly or fully undone; the books balance.

Per order: terminal within `within` of its publish; a completed saga has each step
applied exactly once and nothing compensated; a compensated or dead-lettered saga has
each applied step undone (step count == compensation count); no order is both
dead-lettered and completed. Globally (Jepsen's bank test): conservation sums over the
final totals of the services, each only when the observations carry the totals it needs
(a pipeline without a points service is judged on the other sums).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chaos.checks.base import counted
from chaos.checks.locate import (
    CHUNK,
    effect_counts,
    lookup,
    offenders,
    publish_times,
    terminal_rows,
    unique,
)
from chaos.checks.model import (
    COMPENSATED,
    COMPLETED,
    DEAD_LETTERED,
    I64,
    OK,
    Bool,
    History,
    Ints,
    Observations,
    Phases,
    Timeseries,
    Verdict,
)
from chaos.checks.specs import SUMS, SagaSpec

_NEEDS = {
    "stock": ("initial_stock", "stock", "reserved"),
    "reserved": ("reserved",),
    "charged": ("charged", "refunded"),
    "points": ("points",),
}


def conservation(obs: Observations, wanted: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Each sum as {expected, actual, ok}; and the sums the totals cannot support."""
    done = obs.outcome == COMPLETED
    tot = obs.totals
    result: dict[str, Any] = {}
    unavailable = [s for s in wanted if any(k not in tot for k in _NEEDS[s])]
    for s in wanted:
        if s in unavailable:
            continue
        if s == "stock":
            expected, actual = tot["initial_stock"], tot["stock"] + tot["reserved"]
        elif s == "reserved":
            expected, actual = int(obs.qty[done].sum()), tot["reserved"]
        elif s == "charged":
            expected, actual = int(obs.value[done].sum()), tot["charged"] - tot["refunded"]
        else:
            expected, actual = int(obs.points[done].sum()), tot["points"]
        result[s] = {"expected": int(expected), "actual": int(actual), "ok": expected == actual}
    return result, unavailable


def durations(
    history: History, obs: Observations, timed: Bool, h_idx: Ints, limit_ns: int
) -> tuple[I64, int]:
    """Orders terminal more than `limit_ns` after publish, and the longest saga (ns, -1
    if none); in chunks, so no full-length temporaries."""
    late: list[I64] = []
    longest = -1
    if len(history.order_id) == 0:
        return obs.order_id[:0], longest
    for a in range(0, len(obs.order_id), CHUNK):
        part = slice(a, a + CHUNK)
        t_end = obs.t_terminal[part]
        took = np.where(
            timed[part] & (t_end >= 0), t_end - history.t_invoke[h_idx[part]], -1
        )
        if len(took):
            longest = max(longest, int(took.max()))
        late.append(obs.order_id[part][took > limit_ns])
    return (np.concatenate(late) if late else obs.order_id[:0]), longest


class Saga(SagaSpec):
    """The implementation; name, inputs and parameters come from the spec."""

    def __call__(
        self,
        history: History,
        observations: Observations,
        timeseries: Timeseries,
        phases: Phases,
        params: dict[str, Any],
    ) -> Verdict:
        p, within, wanted_sums = self._parse(params)
        p.done()
        obs = observations
        ids = obs.order_id

        # Timing: ok publishes never finished, and terminal outcomes past the bound.
        unfinished_rows = (history.outcome == OK) & ~terminal_rows(history, obs)
        unfinished = history.order_id[unfinished_rows]
        final = obs.outcome >= COMPLETED
        h_idx, published = lookup(history.order_id, ids)
        late, longest = durations(history, obs, final & published, h_idx, int(within * 1e9))
        del h_idx, published

        # Steps: exactly once when completed, undone when compensated or dead-lettered.
        bad_done = np.zeros(len(ids), dtype=np.bool_)
        bad_undo = np.zeros(len(ids), dtype=np.bool_)
        done = obs.outcome == COMPLETED
        undone = (obs.outcome == COMPENSATED) | (obs.outcome == DEAD_LETTERED)
        for step, comp in obs.saga:
            applied = effect_counts(obs, step, ids)
            reverted = effect_counts(obs, comp, ids)
            bad_done |= done & ((applied != 1) | (reverted != 0))
            bad_undo |= undone & (applied != reverted)
        incomplete, uncompensated = ids[bad_done], ids[bad_undo]

        dl_ids = unique(obs.dead_letters.order_id)
        o_idx, seen = lookup(ids, dl_ids)
        contradicted = np.isin(obs.outcome[o_idx], (COMPLETED, COMPENSATED)) if len(ids) else seen
        both = dl_ids[seen & contradicted]

        sums, unavailable = conservation(obs, wanted_sums or list(SUMS))
        bad_sums = sorted(s for s, v in sums.items() if not v["ok"])
        required_missing = [s for s in unavailable if wanted_sums is not None]

        groups = []
        for kind in (unfinished, late, incomplete, uncompensated, both):
            t, pub = publish_times(history, obs, kind)
            groups.append((kind, t, pub))
        total, sample = offenders(phases, groups, observations.handled_by)
        metrics: dict[str, Any] = {
            "sagas": int(np.count_nonzero(final)),
            "completed": int(np.count_nonzero(done)),
            "compensated": int(np.count_nonzero(obs.outcome == COMPENSATED)),
            "dead_lettered": int(np.count_nonzero(obs.outcome == DEAD_LETTERED)),
            "unfinished": len(unfinished),
            "late": len(late),
            "within_s": within,
            "max_duration_s": longest / 1e9 if longest >= 0 else None,
            "completed_not_exact": len(incomplete),
            "not_compensated": len(uncompensated),
            "dead_lettered_and_completed": len(both),
            "steps": [list(s) for s in obs.saga],
            "sums": sums,
        }
        if unavailable:
            metrics["sums_unavailable"] = unavailable
        problems = [
            f"{n} {label}"
            for n, label in (
                (len(unfinished), "unfinished"),
                (len(late), f"over {within:g}s"),
                (len(incomplete), "completed without every step exactly once"),
                (len(uncompensated), "not fully compensated"),
                (len(both), "dead-lettered and completed"),
            )
            if n
        ]
        problems += [f"sum {s} off by {sums[s]['actual'] - sums[s]['expected']}" for s in bad_sums]
        problems += [f"totals lack what sum {s} needs" for s in required_missing]
        passed = not problems
        skipped = f" (no totals for {', '.join(unavailable)})" if unavailable else ""
        summary = "; ".join(problems) if problems else (
            f"{counted(metrics['sagas'], 'saga')} terminal within {within:g}s, "
            f"{counted(len(sums), 'sum')} balanced{skipped}"
        )
        return Verdict(self.name, passed, summary, metrics, total, sample)


CHECK = Saga()
