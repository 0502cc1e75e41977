"""summary.md: a short Markdown summary for CI step summaries and pull-request comments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.report.rundoc import COULD_NOT_RUN, RunDoc, actions, read_doc

ICON = {"passed": "✅", "failed": "❌", "aborted": "❌"}


def _cell(value: Any) -> str:
    return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")


def summary_lines(doc: RunDoc) -> list[str]:
    r = doc.result
    icon = ICON.get(doc.status, "⚠️")
    lines = [f"## {icon} {doc.name}: {doc.status}", ""]
    if r.get("reason"):
        lines += [f"**Reason:** {_cell(r['reason'])}", ""]
    elif doc.status in COULD_NOT_RUN:
        lines += ["**The experiment could not run.**", ""]
    lines += [f"Run `{r.get('run_id') or doc.run_dir.name}` on target `{r.get('target')}`, "
              f"seed `{doc.seed}`" + (f", bug variant `{r['bug']}`" if r.get("bug") else "")
              + ".", ""]
    for p in doc.problems:
        lines.append(f"- ⚠️ {_cell(p)}")
    if doc.problems:
        lines.append("")
    if doc.verdicts:
        lines += ["| invariant | verdict | summary | offenders |", "|---|---|---|---|"]
        for v in doc.verdicts:
            total = (v.get("offenders") or {}).get("total", 0)
            mark = "PASS" if v.get("ok") else "**FAIL**"
            lines.append(f"| {_cell(v.get('name'))} | {mark} | {_cell(v.get('summary'))} "
                         f"| {total} |")
        lines.append("")
    else:
        lines += ["No invariant was checked.", ""]
    steady = r.get("steady_state") or {}
    for when in ("before", "after"):
        checks = [s for s in steady.get(when) or [] if isinstance(s, dict)]
        if checks:
            bad = [s for s in checks if not s.get("ok")]
            text = (f"{len(bad)} of {len(checks)} failed: " + ", ".join(
                f"{s.get('probe')} = {s.get('value')} ({s.get('bounds')})" for s in bad)
                if bad else f"{len(checks)} held")
            lines.append(f"- Steady state {when}: {text}")
    acts = actions(doc)
    failed = [a for a in acts if a.errors or a.last_state != "reverted"]
    lines.append(f"- Fault actions: {len(acts)} journaled, "
                 f"{len(acts) - len(failed)} reverted cleanly"
                 + (": failing " + ", ".join(f"`{a.id}` ({', '.join(a.errors) or a.last_state})"
                                             for a in failed) if failed else ""))
    lines += ["", "Replay:", "", "```sh", doc.replay_command(), "```", ""]
    return lines


def render_markdown(run_dir: Path) -> str:
    return "\n".join(summary_lines(read_doc(run_dir)))
