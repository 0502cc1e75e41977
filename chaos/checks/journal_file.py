"""Phases and fault windows from journal.jsonl (written by `chaos.run`), for the checks.

Phase bounds come from `phase` events (a phase without an end ends where the next one
starts, or at the last journal time); the baseline starts at the `t0` event's time (load
start) when that is earlier, so the first publishes are not left outside every phase.
A fault window is one occurrence (e.g. `f0.1`), spanning its actions: from the first
`applying` to the last `reverted` (no revert: the last journal time, since the fault was
in force until the run stopped). An instant fault (plan.json `until_s` null, e.g.
pod.kill) ends when its actions were verified. A window also lists the pods and proxies
its actions' records name, so a check can blame the fault that touched an order's pod.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaos.checks.model import FaultWindow, Phases


class JournalError(ValueError):
    """journal.jsonl cannot be used; one line saying why."""


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise JournalError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    return journal_lines(text)


def journal_lines(text: str) -> list[dict[str, Any]]:
    """The journal's entries; a torn last line (a crash mid-write) is skipped."""
    out = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a torn line from a crash mid-write
        if isinstance(entry, dict) and isinstance(entry.get("t"), int):
            out.append(entry)
    return out


def _plan(path: Path) -> dict[str, dict[str, Any]]:
    """Occurrences of plan.json by id; {} when absent or unreadable (types become unknown)."""
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
        return {str(o["id"]): o for o in plan.get("occurrences", []) if isinstance(o, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _touched(slot: dict[str, Any], record: Any) -> None:
    """Note the pod or proxy an action record names (for blame: chaos.checks.blame)."""
    if not isinstance(record, dict):
        return
    for key, into in (("pod", slot["pods"]), ("proxy", slot["proxies"])):
        value = record.get(key)
        if isinstance(value, str) and value not in into:
            into.append(value)


def phases_from_entries(entries: list[dict[str, Any]], plan: dict[str, dict[str, Any]]) -> Phases:
    last_t = max((e["t"] for e in entries), default=0)
    t0 = next(
        (e["t0"] for e in entries if e.get("event") == "t0" and isinstance(e.get("t0"), int)), None
    )
    starts: dict[str, int] = {}
    ends: dict[str, int] = {}
    occurrences: dict[str, dict[str, Any]] = {}
    occurrence_of: dict[str, str] = {}
    for e in entries:
        if e.get("event") == "phase" and isinstance(e.get("phase"), str):
            if e.get("edge") == "start":
                starts.setdefault(e["phase"], e["t"])
            else:
                ends[e["phase"]] = e["t"]
        elif e.get("event") == "action" and isinstance(e.get("id"), str):
            occ = str(e.get("occurrence") or occurrence_of.get(e["id"]) or e["id"])
            occurrence_of.setdefault(e["id"], occ)
            occ = occurrence_of[e["id"]]
            slot = occurrences.setdefault(occ, {"fault": e.get("fault"), "states": {},
                                                "pods": [], "proxies": []})
            slot["states"].setdefault(str(e.get("state")), []).append(e["t"])
            _touched(slot, e.get("record"))
    ordered = sorted(starts, key=lambda p: starts[p])
    bounds: dict[str, tuple[int, int]] = {}
    for i, phase in enumerate(ordered):
        end = ends.get(phase)
        if end is None:
            end = starts[ordered[i + 1]] if i + 1 < len(ordered) else last_t
        start = starts[phase]
        if phase == "baseline" and t0 is not None:
            start = min(start, t0)  # load starts at t0, a moment before the phase is journaled
        bounds[phase] = (start, max(end, start))
    windows = []
    for occ, slot in occurrences.items():
        states: dict[str, list[int]] = slot["states"]
        begun = states.get("applying") or states.get("applied") or states.get("verified")
        if not begun:
            continue
        start = min(begun)
        planned = plan.get(occ, {})
        instant = "until_s" in planned and planned["until_s"] is None
        if instant:
            done = states.get("verified") or states.get("applied") or begun
            end = max(done)
        else:
            end = max(states["reverted"]) if "reverted" in states else last_t
        fault_type = planned.get("type") or (
            slot["fault"] if isinstance(slot["fault"], str) else "unknown"
        )
        windows.append(FaultWindow(id=occ, type=str(fault_type), start=start, end=max(end, start),
                                   pods=tuple(slot["pods"]), proxies=tuple(slot["proxies"])))
    windows.sort(key=lambda w: (w.start, w.id))
    return Phases(bounds=bounds, faults=windows)


def read_phases(run_dir: Path) -> Phases:
    """Phases of a run directory; JournalError when journal.jsonl is missing or unreadable."""
    path = run_dir / "journal.jsonl"
    if not path.exists():
        raise JournalError("journal.jsonl: missing")
    return phases_from_entries(_entries(path), _plan(run_dir / "plan.json"))
