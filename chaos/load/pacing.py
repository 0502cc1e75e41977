"""Open-loop schedule: when each publish slot is due, fixed by rate and ramp alone.

Slot i (0-based, one order id per slot) is due when the cumulative offered count reaches i.
With a linear ramp from 0 over `ramp` seconds, N(t) = rate*t^2/(2*ramp) during the ramp and
rate*ramp/2 + rate*(t - ramp) after it.  Response times never move a slot, so a stalled broker
cannot slow the generator down (no coordinated omission).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Schedule:
    rate: float  # slots per second after the ramp
    duration: float  # seconds; slots due at or after it are never offered
    ramp: float = 0.0  # seconds of linear ramp from 0, inside the duration

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be positive, got {self.rate}")
        if self.duration < 0 or self.ramp < 0:
            raise ValueError("duration and ramp must not be negative")

    def count_before(self, t: float) -> int:
        """Number of slots due strictly before t seconds (the offered count at t)."""
        t = min(t, self.duration)
        if t <= 0:
            return 0
        # slot 0 is due at 0 < t; the epsilon keeps float noise from counting a slot due at t
        return max(1, math.ceil(self._cumulative(t) - 1e-9))

    @property
    def total(self) -> int:
        """Slots offered over the whole duration."""
        return self.count_before(self.duration)

    def offset(self, i: int) -> float:
        """Seconds after t0 when slot i is due."""
        return float(self.offsets(np.asarray([i], dtype=np.int64))[0])

    def offsets(self, i: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Vectorised `offset`."""
        n = i.astype(np.float64)
        ramp_slots = self.rate * self.ramp / 2.0
        in_ramp = n < ramp_slots
        ramped = np.sqrt(2.0 * self.ramp * np.where(in_ramp, n, 0.0) / self.rate)
        steady = self.ramp + (n - ramp_slots) / self.rate
        out: npt.NDArray[np.float64] = np.where(in_ramp, ramped, steady)
        return out

    def _cumulative(self, t: float) -> float:
        if self.ramp > 0 and t < self.ramp:
            return self.rate * t * t / (2.0 * self.ramp)
        return self.rate * self.ramp / 2.0 + self.rate * (t - self.ramp)
