"""`delivery`: no acknowledged message lost, nothing delivered that was never published.

Jepsen's total-queue semantics over order ids: an `ok` publish must reach a terminal
outcome (lost otherwise); a terminal outcome needs an `ok` or `info` publish (phantom
otherwise). `info` publishes are indeterminate, so either fate is legal for them.

Dead-lettered is terminal, yet a valid (non-poison) order that ends in the dead-letter
queue was never delivered to its business outcome: `dead_lettered_valid`, a failure of its
own kind, so every experiment (not only those that carry `dlq`) catches a consumer that
gives up on good work. `allow_dead_lettered: true` is for pipelines that dead-letter valid
orders on purpose (a business rule); see docs/checks.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chaos.checks.locate import count_by, lookup, offenders, publish_times, terminal_rows
from chaos.checks.model import (
    COMPLETED,
    DEAD_LETTERED,
    FAIL,
    INFO,
    OK,
    History,
    Ints,
    Observations,
    Phases,
    Timeseries,
    Verdict,
)
from chaos.checks.specs import DeliverySpec


class Delivery(DeliverySpec):
    """The implementation; name, inputs and parameters come from the spec."""

    def __call__(
        self,
        history: History,
        observations: Observations,
        timeseries: Timeseries,
        phases: Phases,
        params: dict[str, Any],
    ) -> Verdict:
        p, allowed = self._parse(params)
        p.done()
        terminal = terminal_rows(history, observations)
        ok = history.outcome == OK
        info = history.outcome == INFO
        lost_rows = ok & ~terminal
        lost_ids = history.order_id[lost_rows]
        lost_t = history.t_invoke[lost_rows]

        h_idx, published = lookup(history.order_id, observations.order_id)
        unsent = ~published
        if len(history.order_id):
            unsent |= history.outcome[h_idx] == FAIL
        del h_idx, published
        phantom_ids = observations.order_id[unsent & (observations.outcome >= COMPLETED)]
        phantom_t, phantom_pub = publish_times(history, observations, phantom_ids)

        wrongly_dead = np.zeros(0, dtype=observations.order_id.dtype) if allowed else \
            dead_lettered_valid(history, observations)
        wrongly_t, wrongly_pub = publish_times(history, observations, wrongly_dead)

        redelivered = int(np.count_nonzero(observations.redeliveries > 0))
        n_ok, n_info = int(np.count_nonzero(ok)), int(np.count_nonzero(info))
        recovered = int(np.count_nonzero(info & terminal))
        metrics: dict[str, Any] = {
            "published": len(history.order_id),
            "ok": n_ok,
            "fail": int(np.count_nonzero(history.outcome == FAIL)),
            "info": n_info,
            "lost": len(lost_ids),
            "phantom": len(phantom_ids),
            "dead_lettered_valid": len(wrongly_dead),
            "recovered": recovered,
            "info_unresolved": n_info - recovered,
            "redelivered": redelivered,
            "redeliveries": int(observations.redeliveries.sum()),
        }
        if len(lost_ids):
            metrics["lost_by_phase"], metrics["lost_by_fault"] = count_by(phases, lost_t)
        total, sample = offenders(
            phases,
            [
                (lost_ids, lost_t, np.ones(len(lost_ids), dtype=np.bool_)),
                (phantom_ids, phantom_t, phantom_pub),
                (wrongly_dead, wrongly_t, wrongly_pub),
            ],
            observations.handled_by,
        )
        passed = total == 0
        summary = (
            f"lost {len(lost_ids)} of {n_ok} ok publishes, phantom {len(phantom_ids)}"
            + (f", {len(wrongly_dead)} valid orders dead-lettered" if len(wrongly_dead) else "")
            + f"; recovered {recovered} of {n_info} info, {redelivered} redelivered"
        )
        return Verdict(self.name, passed, summary, metrics, total, sample)


def dead_lettered_valid(history: History, obs: Observations) -> Ints:
    """Orders published `ok` or `info` without the poison mark that were dead-lettered
    (by outcome or by a dead-letter entry). A `fail` publish is a phantom instead."""
    dead = np.union1d(obs.order_id[obs.outcome == DEAD_LETTERED], obs.dead_letters.order_id)
    if len(dead) == 0 or len(history.order_id) == 0:
        return dead[:0]
    h_idx, published = lookup(history.order_id, dead)
    valid = published & (history.outcome[h_idx] != FAIL) & ~history.poison[h_idx]
    found: Ints = dead[valid]
    return found


CHECK = Delivery()
