"""The trend page over many run directories (a team's scheduled staging runs): per
experiment, pass/fail/skipped over time, lost and duplicate counts, fault-phase p99 against
the baseline's, and recovery time. Unreadable or partial run directories are listed, never
fatal. Pure over the directories' result.json files; no plotting library needed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from chaos.report.rundoc import COULD_NOT_RUN

OUTCOME = {"passed": "pass", "failed": "fail", "aborted": "fail"}  # the rest: skipped


@dataclass(frozen=True)
class TrendRow:
    run_dir: Path
    experiment: str
    started: int | None  # epoch ns
    status: str
    outcome: str  # pass | fail | skipped
    lost: int | None
    duplicates: int | None
    p99_fault_ms: float | None
    p99_baseline_ms: float | None
    recovery_s: float | None
    reason: str | None


def _metric(verdicts: list[dict[str, Any]], key: str) -> Any:
    """A metric of whichever verdict reports it (verdicts may be renamed with `name:`)."""
    for v in verdicts:
        metrics = v.get("metrics") or {}
        if isinstance(metrics, dict) and metrics.get(key) is not None:
            return metrics[key]
    return None


def _p99(verdicts: list[dict[str, Any]], phase: str) -> float | None:
    for v in verdicts:
        phases = (v.get("metrics") or {}).get("phases")
        if isinstance(phases, dict) and isinstance(phases.get(phase), dict):
            value = phases[phase].get("p99_ms")
            if isinstance(value, int | float):
                return float(value)
    return None


def row_of(run_dir: Path) -> TrendRow:
    """One run's row; ValueError (one line) when its result.json is missing or unreadable."""
    try:
        data = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError("no result.json (the run never finished, or not a run)") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"result.json unreadable: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or data.get("format") != "pipechaos.result":
        raise ValueError("result.json is not a pipechaos.result document")
    verdicts = [v for v in data.get("verdicts") or [] if isinstance(v, dict)]
    prepare = (data.get("phases") or {}).get("prepare") or {}
    started = prepare.get("start") if isinstance(prepare, dict) else None
    status = str(data.get("status"))
    return TrendRow(
        run_dir=run_dir,
        experiment=str(data.get("experiment") or "unknown"),
        started=started if isinstance(started, int) else None,
        status=status,
        outcome=OUTCOME.get(status, "skipped"),
        lost=_metric(verdicts, "lost"),
        duplicates=_metric(verdicts, "duplicated_orders"),
        p99_fault_ms=_p99(verdicts, "fault"),
        p99_baseline_ms=_p99(verdicts, "baseline"),
        recovery_s=_metric(verdicts, "recovery_s"),
        reason=data.get("reason"),
    )


def collect(root: Path) -> tuple[dict[str, list[TrendRow]], list[tuple[Path, str]]]:
    """Rows by experiment (oldest first) and the directories that could not be read."""
    by_experiment: dict[str, list[TrendRow]] = {}
    bad: list[tuple[Path, str]] = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            row = row_of(d)
        except ValueError as exc:
            bad.append((d, str(exc)))
            continue
        by_experiment.setdefault(row.experiment, []).append(row)
    for rows in by_experiment.values():
        rows.sort(key=lambda r: (r.started or 0, r.run_dir.name))
    return by_experiment, bad


def _e(value: Any) -> str:
    return escape("-" if value is None else str(value))


def _when(ns: int | None) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M") if ns else "-"


def _p99_cell(r: TrendRow) -> str:
    if r.p99_fault_ms is None:
        return "-"
    text = f"{r.p99_fault_ms:.1f} ms"
    if r.p99_baseline_ms:
        text += f" vs {r.p99_baseline_ms:.1f} ms ({r.p99_fault_ms / r.p99_baseline_ms:.1f}x)"
    return escape(text)


CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f4f4f4}.pass{background:#d7f0d7}.fail{background:#f6d0d0}
.skipped{background:#eee;color:#666}.strip span{display:inline-block;width:14px;height:14px;
margin-right:2px;border:1px solid #999}"""


def render_trend(root: Path) -> str:
    by_experiment, bad = collect(root)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
             f"style-src 'unsafe-inline'\"><title>pipechaos trend: {_e(root.name)}</title>"
             f"<style>{CSS}</style></head><body><h1>Trend over {_e(root)}</h1>"]
    for name, rows in sorted(by_experiment.items()):
        counts = {k: sum(r.outcome == k for r in rows) for k in ("pass", "fail", "skipped")}
        strip = "".join(f'<span class="{r.outcome}" title="{_e(_when(r.started))} '
                        f'{_e(r.status)}"></span>' for r in rows)
        parts.append(
            f'<section class="experiment" data-experiment="{_e(name)}"><h2>{_e(name)}</h2>'
            f'<p class="strip">{strip} {counts["pass"]} passed, {counts["fail"]} failed, '
            f'{counts["skipped"]} skipped</p><table><tr><th>started (UTC)</th><th>run</th>'
            "<th>status</th><th>lost</th><th>duplicates</th><th>fault p99 vs baseline</th>"
            "<th>recovery</th><th>reason</th></tr>")
        for r in rows:
            recovery = "-" if r.recovery_s is None else f"{r.recovery_s:.2f} s"
            parts.append(
                f'<tr class="run {r.outcome}" data-run="{_e(r.run_dir.name)}" '
                f'data-outcome="{r.outcome}" data-lost="{_e(r.lost)}" '
                f'data-duplicates="{_e(r.duplicates)}"><td>{_e(_when(r.started))}</td>'
                f"<td>{_e(r.run_dir.name)}</td><td>{_e(r.status)}</td><td>{_e(r.lost)}</td>"
                f"<td>{_e(r.duplicates)}</td><td>{_p99_cell(r)}</td><td>{recovery}</td>"
                f"<td>{_e(r.reason if r.status in COULD_NOT_RUN or r.outcome == 'fail' else None)}"
                "</td></tr>")
        parts.append("</table></section>")
    if not by_experiment:
        parts.append("<p>No readable run.</p>")
    if bad:
        items = "".join(f'<li class="unreadable" data-run="{_e(d.name)}">{_e(d.name)}: '
                        f"{_e(why)}</li>" for d, why in bad)
        parts.append(f"<h2>Unreadable or partial run directories</h2><ul>{items}</ul>")
    parts.append("</body></html>\n")
    return "".join(parts)
