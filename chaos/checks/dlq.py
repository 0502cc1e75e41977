"""`dlq`: poison messages, and only they, end in the dead-letter queue, once, with reason.

Expected set: poison publishes acknowledged `ok` must all be dead-lettered; a poison
publish with outcome `info` may or may not have reached the broker, so it is consistent
either way (counted only when it was dead-lettered); a `fail` publish must not appear.
So `dead_lettered == poison_ok + poison_info_dead_lettered` when the check passes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chaos.checks.locate import lookup, offenders, publish_times, unique, unique_counts
from chaos.checks.model import (
    COMPENSATED,
    COMPLETED,
    DEAD_LETTERED,
    FAIL,
    INFO,
    OK,
    History,
    Observations,
    Phases,
    Timeseries,
    Verdict,
)
from chaos.checks.specs import DlqSpec

SETTINGS_KEYS = ("max_attempts", "dlq_attempts")


def configured_attempts(obs: Observations, param: int | None) -> int | None:
    if param is not None:
        return param
    for key in SETTINGS_KEYS:
        value = obs.settings.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


class Dlq(DlqSpec):
    """The implementation; name, inputs and parameters come from the spec."""

    def __call__(
        self,
        history: History,
        observations: Observations,
        timeseries: Timeseries,
        phases: Phases,
        params: dict[str, Any],
    ) -> Verdict:
        p, attempts_param, allow_non_poison = self._parse(params)
        p.done()
        obs, dl = observations, observations.dead_letters
        expected = configured_attempts(obs, attempts_param)

        # Each entry: a reason and the configured number of attempts; one entry per order.
        reasons = np.array([bool(r and r.strip()) for r in dl.reason], dtype=np.bool_)
        wrong = dl.attempts != expected if expected is not None else dl.attempts < 1
        entry_bad = unique(dl.order_id[~reasons | wrong])
        uniq, per_order = unique_counts(dl.order_id)
        duplicate = uniq[per_order > 1]
        flagged = obs.order_id[obs.outcome == DEAD_LETTERED]
        no_entry = np.setdiff1d(flagged, uniq, assume_unique=True)
        dead = np.union1d(uniq, flagged)

        # Against the history: which poison publishes should be there, which not.
        h_idx, published = lookup(history.order_id, dead)
        if len(history.order_id):
            h_out, h_poison = history.outcome[h_idx], history.poison[h_idx]
        else:
            h_out = np.zeros(len(dead), np.int8)
            h_poison = np.zeros(len(dead), np.bool_)
        unexpected_mask = ~published | (h_out == FAIL)
        if not allow_non_poison:
            unexpected_mask |= ~h_poison
        unexpected = dead[unexpected_mask]
        poison = history.poison
        poison_ok = history.order_id[poison & (history.outcome == OK)]
        poison_info = history.order_id[poison & (history.outcome == INFO)]
        missing = np.setdiff1d(poison_ok, dead, assume_unique=True)
        o_idx, seen = lookup(obs.order_id, history.order_id[poison])
        finished = np.isin(obs.outcome[o_idx], (COMPLETED, COMPENSATED)) if len(
            obs.order_id
        ) else seen
        poison_done = history.order_id[poison][seen & finished]

        kinds = {
            "missing": missing,
            "no_reason_or_wrong_attempts": entry_bad,
            "no_entry": no_entry,
            "duplicate": duplicate,
            "unexpected": unexpected,
            "poison_completed": poison_done,
        }
        groups = []
        for ids in kinds.values():
            t, pub = publish_times(history, obs, ids)
            groups.append((ids, t, pub))
        total, sample = offenders(phases, groups, observations.handled_by)
        info_dead = int(np.count_nonzero(np.isin(poison_info, dead)))
        metrics: dict[str, Any] = {
            "dead_lettered": len(dead),
            "entries": len(dl.order_id),
            "poison_ok": len(poison_ok),
            "poison_info": len(poison_info),
            "poison_info_dead_lettered": info_dead,
            "poison_fail": int(np.count_nonzero(poison & (history.outcome == FAIL))),
            "attempts_expected": expected,
            "attempts_seen": sorted({int(a) for a in unique(dl.attempts)}),
            **{k: len(v) for k, v in kinds.items()},
        }
        problems = [f"{len(v)} {k.replace('_', ' ')}" for k, v in kinds.items() if len(v)]
        note = "" if expected is not None else " (attempt count not configured: only >= 1)"
        summary = "; ".join(problems) if problems else (
            f"{len(dead)} dead-lettered = {len(poison_ok)} poison ok + {info_dead} poison info"
        )
        return Verdict(self.name, total == 0, summary + note, metrics, total, sample)


CHECK = Dlq()
