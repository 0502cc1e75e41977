"""The resolved, timed schedule of a run: pure functions of the experiment and the seed.

A fault entry expands into occurrences (`every` repeats until `until` or the window end).
The optional `start_jitter` delays each occurrence by a seeded random amount in
[0, start_jitter), so `--seed` replays the same schedule and another seed moves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from chaos.spec.models import Experiment, FaultSpec, Load
from chaos.spec.units import format_duration

MAX_OCCURRENCES = 10_000

if TYPE_CHECKING:
    import random


class Occurrence(msgspec.Struct, frozen=True):
    id: str  # f<fault index>.<repeat index>, e.g. "f0.1"
    fault: int
    type: str
    at_s: float
    until_s: float | None  # None: instant fault
    params: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def duration_s(self) -> float | None:
        return None if self.until_s is None else self.until_s - self.at_s

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fault": self.fault,
            "type": self.type,
            "at_s": round(self.at_s, 6),
            "until_s": None if self.until_s is None else round(self.until_s, 6),
            "params": self.params,
        }


def jitter_of(spec: FaultSpec) -> float:
    return spec.start_jitter or 0.0


def starts(spec: FaultSpec, window_s: float) -> list[float]:
    """Nominal start offsets of a fault entry (before jitter)."""
    if spec.every is None or spec.every <= 0:
        return [spec.at]
    end = spec.until if spec.until is not None else window_s
    out: list[float] = []
    t = spec.at
    while t < end and len(out) < MAX_OCCURRENCES:
        out.append(t)
        t += spec.every
    return out or [spec.at]


def occurrences(experiment: Experiment, seed: int) -> list[Occurrence]:
    """Every occurrence in time order; per-occurrence randomness derives from the seed."""
    window = experiment.window_s()
    out: list[Occurrence] = []
    for i, spec in enumerate(experiment.faults):
        jitter = jitter_of(spec)
        for k, start in enumerate(starts(spec, window)):
            occ_id = f"f{i}.{k}"
            at = start + (occurrence_rng(seed, f"{occ_id}:at").uniform(0, jitter) if jitter else 0)
            until = at + spec.duration if spec.duration else None
            out.append(Occurrence(occ_id, i, spec.type, at, until, dict(spec.params)))
    out.sort(key=lambda o: (o.at_s, o.fault, o.id))
    return out


def occurrence_rng(seed: int, occurrence_id: str) -> random.Random:
    """The rng a fault uses to pick victims for one occurrence (replayable)."""
    import random  # here: `validate` imports this module and needs no randomness

    return random.Random(f"{seed}:{occurrence_id}")


def plan_json(experiment: Experiment, seed: int) -> dict[str, Any]:
    load = experiment.load
    occ = occurrences(experiment, seed)
    return {
        "format": "pipechaos.plan",
        "version": 1,
        "seed": seed,
        "experiment": experiment.metadata.name,
        "load": load_json(load) if isinstance(load, Load) else "none",
        "window_ns": int(experiment.window_s() * 1e9),
        "phases": phases_json(experiment, occ),
        "occurrences": [
            {**o.to_json(), "defaults": fault_defaults(o.type, o.params)} for o in occ
        ],
    }


def phases_json(experiment: Experiment, occ: list[Occurrence]) -> list[dict[str, Any]]:
    """When each phase starts and ends, in seconds from t = 0 (as the orchestrator runs
    them): baseline until the first fault, fault until the last one ends, recovery until
    the window ends, then drain for at most `timing.drain_timeout`."""
    window = experiment.window_s()
    spans: list[tuple[str, float, float]] = []
    if occ:
        first = min(o.at_s for o in occ)
        last = max(o.at_s if o.until_s is None else o.until_s for o in occ)
        spans += [("baseline", 0.0, first), ("fault", first, last), ("recovery", last, window)]
    else:
        spans.append(("baseline", 0.0, window))
    out = [
        {"phase": name, "start_s": round(start, 6), "end_s": round(end, 6)}
        for name, start, end in spans
        if end > start or name == "fault"
    ]
    drain_end = window + experiment.timing.drain_timeout
    out.append({"phase": "drain", "start_s": round(window, 6), "end_s": round(drain_end, 6),
                "at_most": True})
    return out


def fault_defaults(fault_type: str, given: dict[str, Any]) -> dict[str, Any]:
    """The parameters the file leaves to their defaults (nulls omitted), as `list` shows
    them; {} for a fault type that is not registered."""
    from chaos import registry
    from chaos.report.listing import params_of

    try:
        model = registry.faults.get(fault_type).Params
    except registry.RegistryError:
        return {}
    return {
        p["name"]: p["default"]
        for p in params_of(model)
        if not p["required"] and p["name"] not in given and p["default"] is not None
    }


def load_json(load: Load) -> dict[str, Any]:
    """The load as the file wrote it: durations and rates as text."""
    return {
        "rate": f"{load.rate:g}/s",
        "duration": format_duration(load.duration),
        "ramp": format_duration(load.ramp),
        "poison": load.poison,
        "users": load.users,
        "payload": load.payload,
    }


def new_seed() -> int:
    import random

    return random.SystemRandom().randrange(1, 2**31)
