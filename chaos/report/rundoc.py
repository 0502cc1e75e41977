"""What a report shows from a run directory's small files (result.json, plan.json,
journal.jsonl, the copied inputs), read tolerantly: a report of a crashed or copied run
shows what is there and lists what is not, never fails."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.checks.journal_file import journal_lines

FAILED_STAGES = {"apply_failed": "apply", "verify_failed": "verify", "revert_failed": "revert"}
COULD_NOT_RUN = ("not_steady", "error", "interrupted")


@dataclass(frozen=True)
class Action:
    """One journaled fault action: its occurrence, times of each state, failing stages."""

    id: str
    occurrence: str
    fault: str
    description: str
    times: dict[str, int]  # state -> epoch ns of its first line
    errors: dict[str, str]  # failing stage -> error text
    by_rollback: bool = False

    @property
    def last_state(self) -> str:
        return max(self.times, key=lambda s: self.times[s]) if self.times else "unknown"


@dataclass(frozen=True)
class RunDoc:
    run_dir: Path
    result: dict[str, Any]
    plan: dict[str, Any]
    journal: list[dict[str, Any]]
    experiment_text: str
    target_text: str
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.result.get("status") or "unknown")

    @property
    def name(self) -> str:
        return str(self.result.get("experiment") or self.plan.get("experiment") or "unknown")

    @property
    def seed(self) -> Any:
        return self.result.get("seed", self.plan.get("seed"))

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        return [v for v in self.result.get("verdicts") or [] if isinstance(v, dict)]

    @property
    def t0(self) -> int | None:
        """Load start (epoch ns): the origin of every plot and of the plan's offsets."""
        for e in self.journal:
            if e.get("event") == "t0" and isinstance(e.get("t0"), int):
                return int(e["t0"])
        baseline = (self.result.get("phases") or {}).get("baseline") or {}
        start = baseline.get("start") if isinstance(baseline, dict) else None
        return int(start) if isinstance(start, int) else None

    def replay_command(self) -> str:
        """The command that replays the run's random choices from its own copies."""
        d = self.run_dir
        words = ["pipechaos", "run", str(d / "experiment.yaml"),
                 "--target", str(d / "target.yaml")]
        if self.seed is not None:
            words += ["--seed", str(self.seed)]
        line = " ".join(shlex.quote(w) for w in words)
        bug = self.result.get("bug")
        return f"PIPECHAOS_REF_BUG={shlex.quote(str(bug))} {line}" if bug else line


def _json(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path.name}: missing")
        return {}
    except (OSError, ValueError) as exc:
        problems.append(f"{path.name}: unreadable ({str(exc).splitlines()[0]})")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path.name}: not a JSON object")
        return {}
    return data


def _text(path: Path, problems: list[str]) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        problems.append(f"{path.name}: missing")
        return ""


def _journal(path: Path, problems: list[str]) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        problems.append("journal.jsonl: missing")
        return []
    return journal_lines(text)


def read_doc(run_dir: Path) -> RunDoc:
    problems: list[str] = []
    if not run_dir.is_dir():
        problems.append(f"{run_dir}: not a directory")
    return RunDoc(
        run_dir=run_dir,
        result=_json(run_dir / "result.json", problems),
        plan=_json(run_dir / "plan.json", problems),
        journal=_journal(run_dir / "journal.jsonl", problems),
        experiment_text=_text(run_dir / "experiment.yaml", problems),
        target_text=_text(run_dir / "target.yaml", problems),
        problems=problems,
    )


def actions(doc: RunDoc) -> list[Action]:
    """Every fault action of the journal in the order it was first written."""
    found: dict[str, dict[str, Any]] = {}
    for e in doc.journal:
        if e.get("event") != "action" or not isinstance(e.get("id"), str):
            continue
        slot = found.setdefault(e["id"], {"times": {}, "errors": {}, "occurrence": "",
                                          "fault": "", "description": "", "rollback": False})
        state = str(e.get("state"))
        slot["times"].setdefault(state, int(e["t"]))
        for key in ("occurrence", "fault", "description"):
            if e.get(key) and not slot[key]:
                slot[key] = str(e[key])
        if state in FAILED_STAGES:
            slot["errors"][FAILED_STAGES[state]] = str(e.get("error") or state)
        slot["rollback"] = slot["rollback"] or e.get("by") == "rollback"
    return [
        Action(id=i, occurrence=s["occurrence"] or i.rsplit(".", 1)[0], fault=s["fault"] or "?",
               description=s["description"], times=s["times"], errors=s["errors"],
               by_rollback=s["rollback"])
        for i, s in found.items()
    ]


def occurrences(doc: RunDoc) -> list[dict[str, Any]]:
    """Each fault occurrence that began, with its real span (seconds from t0) and whether
    it is instant (plan.json `until_s` null): the shaded marks of the plots."""
    t0 = doc.t0
    planned = {str(o.get("id")): o for o in doc.plan.get("occurrences") or []
               if isinstance(o, dict)}
    last_t = max((int(e["t"]) for e in doc.journal), default=0)
    spans: dict[str, dict[str, Any]] = {}
    for a in actions(doc):
        begun = [a.times[s] for s in ("applying", "applied", "verified") if s in a.times]
        if not begun or t0 is None:
            continue
        plan = planned.get(a.occurrence, {})
        instant = "until_s" in plan and plan["until_s"] is None
        if instant:
            end = max(a.times.get("verified", 0), a.times.get("applied", 0), min(begun))
        else:
            end = a.times.get("reverted", last_t)
        span = spans.setdefault(a.occurrence, {
            "id": a.occurrence, "fault": str(plan.get("type") or a.fault),
            "instant": instant, "start": min(begun), "end": end})
        span["start"], span["end"] = min(span["start"], min(begun)), max(span["end"], end)
    out = []
    for s in sorted(spans.values(), key=lambda s: (s["start"], s["id"])):
        out.append({**s, "start_s": (s["start"] - (t0 or 0)) / 1e9,
                    "end_s": (max(s["end"], s["start"]) - (t0 or 0)) / 1e9})
    return out
