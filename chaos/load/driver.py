"""The open-loop driver that runs inside one Locust process (gevent; never in the runner).

Publishes are issued at their scheduled times, each in its own greenlet, so a slow or stalled
broker never delays the next one: the generator keeps offering and records the resulting
`fail`/`info` outcomes (no coordinated omission).  Process K of N sends slots K, K+N, ...,
so order ids are the schedule's slot numbers: unique across processes, with no gaps.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.pool
import numpy as np
import numpy.typing as npt
from hdrh.histogram import HdrHistogram

from chaos.load.history import OUTCOME_CODES, HistoryWriter
from chaos.load.links import FileLink, Link
from chaos.load.pacing import Schedule
from chaos.load.payload import PayloadMaker
from chaos.load.rates import RateRecorder
from chaos.load.settings import LoadPaths, LoadSettings
from chaos.publishers.base import Publisher, PublishResult

OnResult = Callable[[PublishResult, float, int], None]  # result, response ms, payload size
_STOP_POLL_NS = 50_000_000
_FLUSH_NS = 250_000_000


class Driver:
    def __init__(
        self,
        settings: LoadSettings,
        index: int,
        paths: LoadPaths,
        publisher: Publisher,
        on_result: OnResult | None = None,
        link: Link | None = None,
    ) -> None:
        """`link`: how ready/go/stop/history/done travel; default files under `paths`."""
        if not 0 <= index < settings.processes:
            raise ValueError(f"load process index {index} outside 0..{settings.processes - 1}")
        self.cfg = settings
        self.index = index
        self.paths = paths
        self.link: Link = link or FileLink(paths, index)
        self.publisher = publisher
        self.on_result = on_result
        self.maker = PayloadMaker.from_options(settings.seed, settings.poison, settings.payload)
        self.schedule = Schedule(settings.rate, settings.duration, settings.ramp)
        self.group = gevent.pool.Group()
        self.lag = HdrHistogram(1, 3_600_000_000, 2)  # schedule lag, microseconds
        self.counts = {"offered": 0, "sent": 0, "ok": 0, "fail": 0, "info": 0, "overloaded": 0}
        self.writer: HistoryWriter | None = None
        self.rates: RateRecorder | None = None
        self.next_id = index  # the next slot this process will offer
        self.claim_end = index  # ids below this (in this process's stride) are claimed

    # ------------------------------------------------------------ lifecycle

    def run(self) -> None:
        """Ready, wait for t0, offer the whole schedule (or until stop), drain, report."""
        self.link.ready()
        t0 = self.link.wait_go()
        meta = {
            "index": self.index,
            "processes": self.cfg.processes,
            "t0": t0,
            "payload": {"seed": self.cfg.seed, "poison": self.cfg.poison},
        }
        self.writer = self.link.history(self.cfg.run_id, meta)
        self.rates = self.link.rates(t0)
        try:
            stop = self._offer(t0)
            timeout = float(stop.get("timeout_s", 10.0)) if stop is not None else 30.0
            self._drain(timeout)
        finally:  # also on GreenletExit (Locust quitting): unanswered publishes read as INFO
            in_flight = len(self.group)
            self.group.kill(block=False)
            self.writer.release(self.next_id, self.claim_end, self.cfg.processes)
            self.writer.close()
            self.rates.close()
        self._report(t0, stopped_early=stop is not None, in_flight=in_flight)

    def _drain(self, timeout_s: float) -> None:
        """Wait for in-flight publishes, still flushing so a crash now loses little."""
        assert self.writer is not None and self.rates is not None
        deadline = time.monotonic() + timeout_s
        while self.group and time.monotonic() < deadline:
            self.group.join(timeout=min(_FLUSH_NS / 1e9, max(0.0, deadline - time.monotonic())))
            self.writer.flush()
            self.rates.roll(time.time_ns())

    def _offer(self, t0: int) -> dict[str, Any] | None:
        """The scheduling loop; returns the stop request if one cut the schedule short."""
        assert self.writer is not None and self.rates is not None
        writer, rates, n = self.writer, self.rates, self.cfg.processes
        mono_t0 = time.monotonic_ns() - (time.time_ns() - t0)
        total = self.schedule.total
        block = max(1, round(self.cfg.rate * self.cfg.claim_s / n))
        offsets: list[int] = []
        next_poll = next_flush = 0
        while (i := self.next_id) < total:
            mono = time.monotonic_ns()
            if mono >= next_poll:
                next_poll = mono + _STOP_POLL_NS
                stop = self.link.stop_request()
                if stop is not None:
                    return stop  # the unsent claimed ids are released on the way out
            if mono >= next_flush:
                next_flush = mono + _FLUSH_NS
                writer.flush()
                rates.roll(time.time_ns())
            if i >= self.claim_end - self.link.claim_ahead * block * n and self.claim_end < total:
                # a link whose acknowledgements travel (distributed workers) claims the next
                # block ahead, so the acknowledgement is back before its first id is due
                first, end = self.claim_end, min(self.claim_end + block * n, total)
                more = [int(s * 1e9) for s in self.schedule.offsets(_arr(range(first, end, n)))]
                offsets[:0] = more[::-1]
                writer.claim(first, end, n)  # recorded before any of them is sent
                self.claim_end = end
            writer.wait_claimed(i)  # the claim covering i is acknowledged (files: at once)
            due = offsets[-1]
            wait_ns = mono_t0 + due - mono
            if wait_ns > 0:
                gevent.sleep(min(wait_ns / 1e9, 0.05))
                continue
            offsets.pop()
            self.next_id = i + n  # before launching: a launched id is never released
            self._launch(i, t0 + due, -wait_ns)
        return None

    # ------------------------------------------------------------ publishes

    def _launch(self, order_id: int, due: int, late_ns: int) -> None:
        assert self.writer is not None and self.rates is not None
        self.counts["offered"] += 1
        self.rates.count("offered", due)
        self.lag.record_value(max(1, late_ns // 1000))
        if len(self.group) >= self.cfg.in_flight_cap():
            now = time.time_ns()  # never sent: certainly not enqueued
            poison = self.maker.is_poison(order_id)
            self.writer.done(order_id, OUTCOME_CODES["fail"], now, now, poison=poison,
                             error="Overloaded")  # fmt: skip
            self.counts["overloaded"] += 1
            self._count("fail", now)
            return
        self.group.spawn(self._publish, order_id)

    def _publish(self, order_id: int) -> None:
        assert self.writer is not None and self.rates is not None
        if self.writer.closed:
            return
        payload, poison = self.maker.make(order_id)
        t_invoke = time.time_ns()
        self.counts["sent"] += 1
        self.rates.count("sent", t_invoke)
        try:
            result = self.publisher.publish(order_id, payload)
        except Exception as e:  # a plugin bug: the publish may have happened
            result = PublishResult("info", type(e).__name__)
        t_done = time.time_ns()
        if self.writer.closed:  # the process is quitting: this one stays unknown (INFO)
            return
        outcome = OUTCOME_CODES.get(result.outcome)
        if outcome is None:
            result = PublishResult("info", f"BadOutcome:{result.outcome}")
            outcome = OUTCOME_CODES["info"]
        self.writer.done(order_id, outcome, t_invoke, t_done, poison=poison, error=result.error)
        self._count(result.outcome, t_done)
        if self.on_result is not None:
            self.on_result(result, (t_done - t_invoke) / 1e6, len(payload))

    def _count(self, outcome: str, t: int) -> None:
        assert self.rates is not None
        self.counts[outcome] += 1
        self.rates.count(outcome, t)

    def _report(self, t0: int, *, stopped_early: bool, in_flight: int) -> None:
        lag = {
            "p50": self.lag.get_value_at_percentile(50) / 1000,
            "p99": self.lag.get_value_at_percentile(99) / 1000,
            "max": self.lag.get_max_value() / 1000,
        }
        done = {
            "index": self.index,
            "pid": os.getpid(),
            "t0": t0,
            "t_end": time.time_ns(),
            **self.counts,
            "in_flight_at_end": in_flight,
            "stopped_early": stopped_early,
            "schedule_lag_ms": lag,
        }
        self.link.report(done)


def _arr(ids: range) -> npt.NDArray[np.int64]:
    return np.arange(ids.start, ids.stop, ids.step, dtype=np.int64)
