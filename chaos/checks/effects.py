"""`effects`: no side effect applied twice for one order (at-least-once delivery must be
made exactly-once by idempotency at the effect, which is where a redelivery bites)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chaos.checks.base import counted
from chaos.checks.locate import count_by, offenders, publish_times, unique
from chaos.checks.model import History, Observations, Phases, Timeseries, Verdict
from chaos.checks.specs import EffectsSpec


class Effects(EffectsSpec):
    """The implementation; name, inputs and parameters come from the spec."""

    def __call__(
        self,
        history: History,
        observations: Observations,
        timeseries: Timeseries,
        phases: Phases,
        params: dict[str, Any],
    ) -> Verdict:
        p, wanted = self._parse(params)
        p.done()
        names = wanted if wanted is not None else sorted(observations.effects)
        missing = [n for n in names if n not in observations.effects]
        per_effect: dict[str, dict[str, int]] = {}
        dup_parts = []
        for name in names:
            if name in missing:
                continue
            ids, counts = observations.effects[name]
            dup = counts > 1
            per_effect[name] = {
                "orders": int(np.count_nonzero(counts > 0)),
                "applied": int(counts.sum()),
                "duplicated": int(np.count_nonzero(dup)),
                "extra": int((counts[dup] - 1).sum()),
            }
            dup_parts.append(ids[dup])
        dup_ids = unique(np.concatenate(dup_parts)) if dup_parts else np.zeros(0, np.int64)
        dup_ids = dup_ids.astype(np.int64, copy=False)
        t, published = publish_times(history, observations, dup_ids)
        metrics: dict[str, Any] = {
            "duplicated_orders": len(dup_ids),
            "effects": per_effect,
        }
        if len(dup_ids):
            metrics["duplicated_by_phase"], metrics["duplicated_by_fault"] = count_by(phases, t)
        if missing:
            metrics["missing_effects"] = missing
        total, sample = offenders(phases, [(dup_ids, t, published)], observations.handled_by)
        worst = [f"{n} x{v['duplicated']}" for n, v in per_effect.items() if v["duplicated"]]
        if missing:
            summary = f"effects not in the observations: {', '.join(missing)}"
        elif total:
            summary = (
                f"{counted(total, 'order')} with an effect applied twice or more "
                f"({', '.join(worst)})"
            )
        else:
            summary = f"no effect applied twice ({counted(len(per_effect), 'effect')} checked)"
        return Verdict(self.name, total == 0 and not missing, summary, metrics, total, sample)


CHECK = Effects()
