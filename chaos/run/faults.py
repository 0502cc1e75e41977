"""Applying one fault occurrence: plan its actions, journal, apply, verify (imperative)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from chaos import registry
from chaos.faults.base import FaultEnv
from chaos.platforms.base import Platform
from chaos.run.ledger import Entry, Ledger
from chaos.run.plan import Occurrence, occurrence_rng
from chaos.spec.models import TargetSpec
from chaos.spec.structs import decode


class FaultFailed(Exception):
    """A fault could not be applied or verified (exit 3 after reverting)."""


def apply_occurrence(
    occ: Occurrence,
    ledger: Ledger,
    target: TargetSpec,
    platform: Platform,
    run_dir: Path,
    seed: int,
    max_pods: int | None = None,
    pods_held: int = 0,
) -> list[Entry]:
    """`max_pods` (the experiment's safety cap) counts the pods this occurrence picked plus
    `pods_held` by faults still active; over it, nothing is applied (exit 3)."""
    fault = registry.faults.get(occ.type)
    params = decode(fault.Params, occ.params)
    env = FaultEnv(target, platform, occurrence_rng(seed, occ.id), run_dir, occ.duration_s)
    try:
        actions = fault.actions(params, env)
    except Exception as exc:
        raise FaultFailed(f"{occ.id} {occ.type}: planning failed: {_why(exc)}") from exc
    touched = pods_touched(actions)
    if max_pods is not None and touched and pods_held + touched > max_pods:
        raise FaultFailed(
            f"{occ.id} {occ.type}: would touch {touched} pod(s) with {pods_held} held by "
            f"active faults; safety.max_pods is {max_pods}, so nothing was applied"
        )
    # Apply every action of the occurrence first, then verify them: a fault over several
    # pods or proxies takes effect together (a pod.crash on all consumers arms them all
    # before waiting for the first to die).
    entries: list[Entry] = []
    for j, action in enumerate(actions):
        entry = ledger.start(f"{occ.id}.{j}", occ.id, occ.type, action)
        entries.append(entry)
        try:
            action.apply()
        except Exception as exc:
            ledger.mark(entry, "apply_failed", _why(exc))
            raise FaultFailed(f"{entry.id} {occ.type}: apply failed: {_why(exc)}") from exc
        ledger.mark(entry, "applied")
    for entry in entries:
        try:
            entry.action.verify()
        except Exception as exc:
            ledger.mark(entry, "verify_failed", _why(exc))
            raise FaultFailed(f"{entry.id} {occ.type}: not effective: {_why(exc)}") from exc
        ledger.mark(entry, "verified")
    return entries


def pods_touched(actions: Iterable[object]) -> int:
    """Actions that carry a pod: pod.kill, pod.pause, pod.crash, and plugins alike."""
    return sum(1 for action in actions if getattr(action, "pod", None) is not None)


def revert_occurrence(entries: list[Entry], ledger: Ledger) -> None:
    failed = [e.id for e in reversed(entries) if not ledger.revert(e)]
    if failed:
        raise FaultFailed(f"revert failed for {', '.join(failed)}")


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
