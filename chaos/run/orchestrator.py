"""One run, start to verdict: prepare, baseline, fault, recovery, drain, observe, check,
report. Whatever ends it (normal end, error, abort, SIGINT/SIGTERM) every applied action
is reverted, newest first, once, before anything else is torn down."""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos import registry
from chaos.platforms.base import Platform, PlatformRefused
from chaos.probes import family
from chaos.probes.base import ProbeEnv, ProbeError
from chaos.probes.conditions import AbortWatch
from chaos.probes.sampler import Sampler
from chaos.report import result as result_file
from chaos.report.progress import Progress, live_counters
from chaos.report.render import write_reports
from chaos.report.result import RunResult
from chaos.report.table import reverted_text
from chaos.run.drain import wait_drained
from chaos.run.errors import Stop, one_line
from chaos.run.faults import FaultFailed, apply_occurrence, pods_touched, revert_occurrence
from chaos.run.hours import Limits
from chaos.run.journal import Journal
from chaos.run.ledger import Entry, Ledger
from chaos.run.lock import LockBusy, TargetLock
from chaos.run.observing import RunObserver
from chaos.run.phases import Phases
from chaos.run.plan import Occurrence, occurrences
from chaos.run.rundir import resolve_all
from chaos.run.signals import Interrupted, SignalGuard
from chaos.run.steady_state import available_probes, measure_steady
from chaos.run.timeline import events, fault_span
from chaos.spec.models import Load
from chaos.spec.validate import Checked

log = logging.getLogger("pipechaos")
SLICE_S = 0.05


class Run:
    def __init__(
        self,
        checked: Checked,
        seed: int,
        run_dir: Path,
        run_id: str,
        progress: Progress,
        lock: TargetLock | None = None,
        limits: Limits | None = None,
    ) -> None:
        """`lock`: the target's lock, already held by the caller (the CLI takes it before
        it creates the run directory); released when the run ends. None: taken here.
        `limits`: allowed hours and maximum duration (outside: skipped; past: aborted)."""
        self.c = checked
        self.exp = checked.experiment
        self.target = checked.target
        self.seed = seed
        self.run_dir = run_dir
        self.run_id = run_id
        self.progress = progress
        self.result = RunResult(run_id, self.exp.metadata.name, self.target.metadata.name, seed)
        self.journal = Journal(run_dir / "journal.jsonl")
        self.guard = SignalGuard()
        self.ledger = Ledger(self.journal, self._last_resort, self.guard.shield)
        self.platform: Platform | None = None
        self.load: Any = None
        self.sampler: Sampler | None = None
        self._completed_base: float | None = None  # the consumers' counter at load start
        self._counted_at = -1e9  # monotonic time of the last live counters
        self.t0 = 0
        # a known-bad variant of the pipeline: the environment overrides the target file
        self.bug = os.environ.get("PIPECHAOS_REF_BUG") or self.target.bug or None
        self.result.bug = self.bug
        self.observer = RunObserver(self.target, lambda: _must(self.platform))
        self.probe_env: ProbeEnv | None = None
        self.phases = Phases(self.journal, self.result, progress)
        self._lock = lock
        self.limits = limits or Limits()
        self._deadline: Any = None  # the aware datetime the run must end by, if any
        self._deadline_why = ""

    # ------------------------------------------------------------------ shell

    def execute(self) -> RunResult:
        """Run the timeline; always revert and report. Never raises (except on a bug)."""
        self.guard.install()
        self.journal.write(
            "run_start",
            run_id=self.run_id,
            experiment=self.exp.metadata.name,
            target=self.target.metadata.name,
            pid=_pid(),
            seed=self.seed,
            bug=self.bug,
        )
        lock = self._lock or TargetLock(self.target.metadata.name)
        locked = self._lock is not None
        try:
            skip, self._deadline, self._deadline_why = self.limits.gate()
            if skip is not None:  # before the lock: a skipped run touches nothing
                raise Stop("skipped", skip)
            if not locked:
                lock.acquire()
                locked = True
            self._timeline()
        except Interrupted as exc:
            self._stop_with("interrupted", f"received {exc}")
        except Stop as exc:
            self._stop_with(exc.status, exc.reason)
        except PlatformRefused as exc:
            self._stop_with("refused", str(exc))
        except FaultFailed as exc:
            self._stop_with("error", str(exc))
        except LockBusy as exc:  # expected, not a bug: no traceback in runner.log
            self._stop_with("error", exc.advice(self.target.metadata.name))
        except Exception as exc:
            self._stop_with("error", one_line(exc))
            (self.run_dir / "runner.log").write_text(traceback.format_exc(), encoding="utf-8")
        finally:
            self.guard.disarm()  # from here on signals are recorded, never raised
            self._cleanup()
            late = self.guard.interrupted and self.result.status != "interrupted"
            if late and self.result.status not in ("passed", "failed"):
                self._stop_with("interrupted", "interrupted during teardown")
            self.result.faults = [e.summary() for e in self.ledger.entries]
            result_file.write(self.run_dir / "result.json", self.result)
            self.journal.write("run_end", sync=True, status=self.result.status)
            self.journal.close()
            if locked:
                lock.release()
            write_reports(self.run_dir)  # signals are still only recorded here
            self.guard.restore()
            self.progress.close()
        return self.result

    def _stop_with(self, status: str, reason: str) -> None:
        if status == "aborted":
            self.journal.write("abort", sync=True, reason=reason)
        self.result.status, self.result.reason = status, reason
        self.progress.note(f"{status}: {reason}")

    def _cleanup(self) -> None:
        self.phases.end_all()
        pending = self.ledger.active()
        ok = self.ledger.revert_all()
        if pending or self.result.status not in ("passed", "failed", "skipped"):
            self.progress.note(reverted_text(pending))
        if not ok:
            if self.result.status in ("passed", "failed"):
                self.result.status = "error"
            self.result.reason = (self.result.reason or "") + " (a revert failed: see journal)"
        self._step("stop load", lambda: self._stop_load(5.0))
        if self.sampler is not None:
            self._step("stop sampler", self.sampler.stop)
        if self.platform is not None:
            self._step("platform down", self.platform.down)

    def _step(self, what: str, fn: Callable[[], object]) -> None:
        try:
            fn()
        except Exception as exc:
            log.error("%s failed: %s", what, one_line(exc))

    def _last_resort(self) -> None:
        if self.platform is None or not self.target.proxies:
            return
        import httpx

        httpx.post(self.platform.proxy_api().rstrip("/") + "/reset", timeout=5.0)

    # ------------------------------------------------------------------ phases

    def _timeline(self) -> None:
        self.phases.start("prepare")
        self._prepare()
        self.phases.end("prepare")
        occ = occurrences(self.exp, self.seed)
        window = self.exp.window_s()
        self._start_load()
        end_ns = self.t0 + int(window * 1e9)
        self.phases.start("baseline", end_ns)
        assert self.sampler is not None
        self.sampler.watch_aborts(True)
        self._faults(occ, end_ns)
        self._wait_until(end_ns)
        self.sampler.watch_aborts(False)
        for name in ("baseline", "fault", "recovery"):
            self.phases.end(name)
        self.phases.start("drain")
        self._drain()
        self.phases.end("drain")
        self.sampler.stop()  # the timeseries covers drain; "after" checks measure alone
        self.phases.start("observe")
        observer = self.observer.get()
        if observer is not None:
            observer.observe(self.run_id, self.run_dir / "observations.json")
        self.phases.end("observe")
        self.phases.start("check")
        self.result.steady_state["after"] = self._steady()
        self._check()
        self.phases.end("check")
        self.phases.start("report")
        failed_after = [s for s in self.result.steady_state["after"] if not s["ok"]]
        failed_checks = [v["name"] for v in self.result.verdicts if not v.get("ok")]
        if failed_checks or failed_after:
            reasons = [f"violated: {', '.join(failed_checks)}"] if failed_checks else []
            reasons += [f"not steady after: {s['probe']}" for s in failed_after]
            self.result.status, self.result.reason = "failed", "; ".join(reasons)
        else:
            self.result.status, self.result.reason = "passed", None
        self.phases.end("report")

    def _prepare(self) -> None:
        platform_cls = registry.platforms.get(self.target.platform.type)
        self.platform = platform_cls(self.target, self.run_dir, self.bug)
        self.progress.note(f"starting target {self.target.metadata.name}")
        self.platform.up()
        self.observer.prepare()
        settings = resolve_all(self.target.probes.settings, self.platform.resolve)
        env = self.probe_env = ProbeEnv(self.target, self.platform, settings)
        try:  # a family's members, each checked once: unreachable or refused is exit 3
            probes = family.prepare(family.expand(available_probes(self.exp), settings))
        except ProbeError as exc:
            raise Stop("error", str(exc)) from None
        self.sampler = Sampler(
            probes,
            env,
            self.run_dir / "timeseries.jsonl",
            self.exp.timing.sample_interval,
            AbortWatch(self.exp.abort_when),
        )
        self.result.steady_state["before"] = before = self._steady()
        bad = [s for s in before if not s["ok"]]
        if bad:
            s = bad[0]
            raise Stop(
                "not_steady",
                f"steady state before: {s['probe']} = {s['value']} (want {s['bounds']})",
            )

    def _steady(self) -> list[dict[str, Any]]:
        assert self.probe_env is not None
        return measure_steady(self.exp, self.probe_env)

    def _start_load(self) -> None:
        assert self.platform is not None and self.sampler is not None
        if isinstance(self.exp.load, Load):
            from chaos.load.launcher import LoadGenerator

            pub = self.target.publisher
            if pub is None:
                raise Stop("error", "the experiment has load but the target has no publisher")
            settings = resolve_all(pub.settings, self.platform.resolve)
            self.load = LoadGenerator(
                self.exp.load, pub.type, settings, self.run_dir, self.run_id, self.seed
            )
            if "completed" in self.sampler.probes:  # live view: completed since t0
                self._completed_base = self.sampler.measure("completed")
            self.t0 = int(self.load.start())
        else:
            self.t0 = time.time_ns()
        self.journal.write("t0", t0=self.t0)
        self.sampler.start()

    def _faults(self, occ: list[Occurrence], end_ns: int) -> None:
        span = fault_span(occ)
        applied: dict[str, list[Entry]] = {}
        for ev in events(occ):
            self._wait_until(self.t0 + int(ev.at_s * 1e9))
            if ev.kind == "apply":
                if "fault" not in self.phases.open and not self.phases.started("recovery"):
                    self.phases.end("baseline")
                    self.phases.start("fault", end_ns)
                self.progress.note(f"apply {ev.occurrence.id} {ev.occurrence.type}")
                entries = apply_occurrence(
                    ev.occurrence,
                    self.ledger,
                    self.target,
                    _must(self.platform),
                    self.run_dir,
                    self.seed,
                    max_pods=self.exp.safety.max_pods,
                    pods_held=sum(
                        pods_touched(e.action for e in held) for held in applied.values()
                    ),
                )
                if ev.occurrence.until_s is None:  # instant: done (and holds no pod) at once
                    revert_occurrence(entries, self.ledger)
                else:
                    applied[ev.occurrence.id] = entries
            else:
                self.progress.note(f"revert {ev.occurrence.id} {ev.occurrence.type}")
                revert_occurrence(applied.pop(ev.occurrence.id, []), self.ledger)
        if span is not None:
            self.phases.end("fault")
            self.phases.start("recovery", end_ns)

    def _wait_until(self, t_ns: int) -> None:
        """Sleep in short slices, watching aborts, the load processes and signals."""
        while True:
            assert self.sampler is not None
            if self.guard.received:  # a plugin swallowed Interrupted: still stop
                raise Interrupted(self.guard.received[0])
            if self.sampler.abort_reason:
                raise Stop("aborted", self.sampler.abort_reason)
            self._check_deadline()
            if self.load is not None:
                from chaos.load.launcher import LoadError

                try:
                    self.load.check()
                except LoadError as exc:
                    raise Stop("error", f"load generator failed: {one_line(exc)}") from exc
            self.progress.tick([e.description for e in self.ledger.active()])
            if time.monotonic() - self._counted_at >= 1.0:
                self._counted_at = time.monotonic()
                self.progress.counters(live_counters(self.sampler.latest, self.load,
                                                     self._completed_base))
            left = (t_ns - time.time_ns()) / 1e9
            if left <= 0:
                return
            time.sleep(min(SLICE_S, left))

    def _check_deadline(self) -> None:
        """Past the allowed hours or the maximum duration: abort (the cleanup reverts)."""
        if self._deadline is not None and self.limits.clock() >= self._deadline:
            raise Stop("aborted", f"{self._deadline_why}: the run was stopped before its end")

    def _stop_load(self, timeout_s: float) -> None:
        if self.load is not None:
            stats = self.load.stop(timeout_s)  # cleared only once stopped: an interrupt
            self.load = None  # inside stop() leaves it for the cleanup to stop again
            self.result.load = stats if isinstance(stats, dict) else None

    def _drain(self) -> None:
        self._stop_load(self.exp.timing.drain_timeout)
        self.result.drained = wait_drained(self.observer.get(), self.exp.timing.drain_timeout,
                                           self._check_deadline, self.progress.note)

    def _check(self) -> None:
        if not self.exp.invariants:
            return
        from chaos.checks.runner import run_checks

        verdicts = run_checks(self.run_dir, list(self.exp.invariants))
        self.result.verdicts = [v.to_json() for v in verdicts]


def _must(platform: Platform | None) -> Platform:
    assert platform is not None
    return platform


def _pid() -> int:
    return os.getpid()
