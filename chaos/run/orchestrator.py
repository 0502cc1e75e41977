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
from chaos.observers.base import ObserverError
from chaos.platforms.base import Platform, PlatformRefused
from chaos.probes import family
from chaos.probes.base import ProbeEnv, ProbeError, declared_total
from chaos.probes.conditions import AbortWatch, steady
from chaos.probes.sampler import Sampler
from chaos.report import result as result_file
from chaos.report.progress import Progress, live_counters
from chaos.report.render import write_reports
from chaos.report.result import RunResult
from chaos.report.table import reverted_text
from chaos.run.faults import FaultFailed, apply_occurrence, pods_touched, revert_occurrence
from chaos.run.hours import Limits
from chaos.run.journal import Journal
from chaos.run.ledger import Entry, Ledger
from chaos.run.lock import LockBusy, TargetLock
from chaos.run.plan import Occurrence, occurrences
from chaos.run.rundir import resolve_all
from chaos.run.signals import Interrupted, SignalGuard
from chaos.run.timeline import events, fault_span
from chaos.spec.models import Load
from chaos.spec.validate import Checked

log = logging.getLogger("pipechaos")
SLICE_S = 0.05


class Stop(Exception):
    """Ends the timeline early with a status (not_steady, aborted, error)."""

    def __init__(self, status: str, reason: str) -> None:
        self.status, self.reason = status, reason
        super().__init__(reason)


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
        self._observer_obj: Any = None
        self.probe_env: ProbeEnv | None = None
        self._open: dict[str, int] = {}
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
            self._stop_with("error", _one_line(exc))
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
        for phase in list(self._open):
            self._phase_end(phase)
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
            log.error("%s failed: %s", what, _one_line(exc))

    def _last_resort(self) -> None:
        if self.platform is None or not self.target.proxies:
            return
        import httpx

        httpx.post(self.platform.proxy_api().rstrip("/") + "/reset", timeout=5.0)

    # ------------------------------------------------------------------ phases

    def _phase_start(self, name: str, ends_ns: int | None = None) -> None:
        now = self.journal.write("phase", phase=name, edge="start")["t"]
        self._open[name] = now
        self.result.phases[name] = {"start": now, "end": None}
        self.progress.phase(name, ends_ns)

    def _phase_end(self, name: str) -> None:
        if name in self._open:
            now = self.journal.write("phase", phase=name, edge="end")["t"]
            self.result.phases[name]["end"] = now
            del self._open[name]

    def _timeline(self) -> None:
        self._phase_start("prepare")
        self._prepare()
        self._phase_end("prepare")
        occ = occurrences(self.exp, self.seed)
        window = self.exp.window_s()
        self._start_load()
        end_ns = self.t0 + int(window * 1e9)
        self._phase_start("baseline", end_ns)
        assert self.sampler is not None
        self.sampler.watch_aborts(True)
        self._faults(occ, end_ns)
        self._wait_until(end_ns)
        self.sampler.watch_aborts(False)
        for name in ("baseline", "fault", "recovery"):
            self._phase_end(name)
        self._phase_start("drain")
        self._drain()
        self._phase_end("drain")
        self.sampler.stop()  # the timeseries covers drain; "after" checks measure alone
        self._phase_start("observe")
        observer = self._observer()
        if observer is not None:
            observer.observe(self.run_id, self.run_dir / "observations.json")
        self._phase_end("observe")
        self._phase_start("check")
        self.result.steady_state["after"] = self._steady()
        self._check()
        self._phase_end("check")
        self._phase_start("report")
        failed_after = [s for s in self.result.steady_state["after"] if not s["ok"]]
        failed_checks = [v["name"] for v in self.result.verdicts if not v.get("ok")]
        if failed_checks or failed_after:
            reasons = [f"violated: {', '.join(failed_checks)}"] if failed_checks else []
            reasons += [f"not steady after: {s['probe']}" for s in failed_after]
            self.result.status, self.result.reason = "failed", "; ".join(reasons)
        else:
            self.result.status, self.result.reason = "passed", None
        self._phase_end("report")

    def _prepare(self) -> None:
        platform_cls = registry.platforms.get(self.target.platform.type)
        self.platform = platform_cls(self.target, self.run_dir, self.bug)
        self.progress.note(f"starting target {self.target.metadata.name}")
        self.platform.up()
        self._prepare_observer()
        settings = resolve_all(self.target.probes.settings, self.platform.resolve)
        env = self.probe_env = ProbeEnv(self.target, self.platform, settings)
        probes = {}
        for name in registry.probes.names():
            try:
                probes[name] = registry.probes.get(name)
            except registry.RegistryError as exc:
                named = {c.probe for c in self.exp.steady_state}
                named |= {c.probe for c in self.exp.abort_when}
                (log.warning if name in named else log.debug)("probe unavailable: %s", exc)
        try:  # a family's members, each checked once: unreachable or refused is exit 3
            probes = family.prepare(family.expand(probes, settings))
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

    def _prepare_observer(self) -> None:
        """Build the observer and let it read its source once: bad settings, a bad query or
        an unreachable database end the run here (error, exit 3), before any fault."""
        kind = self.target.observer.type if self.target.observer else None
        try:
            observer = self._observer()
            prepare = getattr(observer, "prepare", None)
            if callable(prepare):
                prepare()
            if observer is not None and hasattr(observer, "snapshot"):
                observer.snapshot()  # run-scoped totals: the deployment may outlive many runs
        except (ObserverError, ValueError) as exc:
            raise Stop("error", f"observer {kind}: {exc}") from None

    def _steady(self) -> list[dict[str, Any]]:
        def measure(name: str) -> float:
            try:
                assert self.probe_env is not None
                return float(family.get(name, self.probe_env.settings).measure(self.probe_env))
            except ProbeError:
                raise
            except Exception as exc:
                raise ProbeError(_one_line(exc)) from exc

        def total(name: str) -> float | None:  # what `min: all` means (validate checked it)
            assert self.probe_env is not None
            try:
                probe = family.get(name, self.probe_env.settings)
                return declared_total(probe, self.target, self.probe_env.settings)
            except (registry.RegistryError, ProbeError):
                return None

        def comparator(name: str) -> Any:  # a member's own bound (prometheus)
            assert self.probe_env is not None
            try:
                return getattr(family.get(name, self.probe_env.settings), "comparator", None)
            except (registry.RegistryError, ProbeError):
                return None

        return steady(list(self.exp.steady_state), measure, total=total, comparator=comparator)

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
                if "fault" not in self._open and "recovery" not in self.result.phases:
                    self._phase_end("baseline")
                    self._phase_start("fault", end_ns)
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
            self._phase_end("fault")
            self._phase_start("recovery", end_ns)

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
                    raise Stop("error", f"load generator failed: {_one_line(exc)}") from exc
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

    def _observer(self) -> Any:
        """The target's observer (one instance per run), or None without one."""
        ref = self.target.observer
        if ref is None:
            return None
        if self._observer_obj is None:
            cls = registry.observers.get(ref.type)
            settings = resolve_all(ref.settings, _must(self.platform).resolve)
            self._observer_obj = cls(settings, _must(self.platform))
        return self._observer_obj

    def _drain(self) -> None:
        self._stop_load(self.exp.timing.drain_timeout)
        observer = self._observer()
        if observer is None:
            self.result.drained = None
            return
        deadline = time.monotonic() + self.exp.timing.drain_timeout
        while True:
            try:
                if observer.drained():
                    self.result.drained = True
                    return
            except Exception as exc:
                log.debug("drained() raised %s", _one_line(exc))
            self._check_deadline()
            if time.monotonic() >= deadline:
                self.result.drained = False
                self.progress.note("drain timed out; checking anyway")
                return
            time.sleep(0.2)

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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
