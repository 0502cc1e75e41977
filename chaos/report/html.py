"""report.html: one self-contained page (inline CSS and SVG, no script, no external
reference) that an on-call engineer opens from disk: verdicts first, then the plots with
the fault windows, then offenders, journal, steady state, inputs and the replay command."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from chaos.report.rundoc import COULD_NOT_RUN, RunDoc, actions, occurrences, read_doc

# nothing may load from anywhere: the page opens offline, from disk, with no script
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f4f4f4}
.pass{color:#116611;font-weight:bold}.fail{color:#b00;font-weight:bold}
.status{display:inline-block;padding:2px 10px;border-radius:4px;color:#fff}
.s-passed{background:#2a7d2a}.s-failed,.s-aborted{background:#b00}
.s-error,.s-not_steady,.s-interrupted,.s-unknown{background:#8a6d00}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}
code{background:#f2f2f2;padding:1px 4px}svg{max-width:100%;height:auto}
.problems{color:#8a6d00}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _secs(t: Any, t0: int | None) -> str:
    if not isinstance(t, int) or t0 is None:
        return ""
    return f"{(t - t0) / 1e9:.2f}s"


def _metrics(metrics: Any) -> str:
    if not isinstance(metrics, dict):
        return ""
    parts = []
    for key, value in metrics.items():
        if isinstance(value, dict | list):
            value = json.dumps(value, default=str, separators=(",", ":"))
            value = value if len(value) <= 80 else value[:77] + "..."
        parts.append(f"{key}={value}")
    return ", ".join(parts[:12]) + (" ..." if len(parts) > 12 else "")


def _verdicts(doc: RunDoc) -> str:
    rows = []
    for v in doc.verdicts:
        ok = bool(v.get("ok"))
        rows.append(
            f'<tr class="verdict" data-verdict="{_e(v.get("name"))}" data-ok="{str(ok).lower()}">'
            f'<td>{_e(v.get("name"))}</td><td class="{"pass" if ok else "fail"}">'
            f'{"PASS" if ok else "FAIL"}</td><td>{_e(v.get("summary"))}</td>'
            f'<td><small>{_e(_metrics(v.get("metrics")))}</small></td></tr>')
    if not rows:
        return "<p>No invariant was checked: the run did not reach its verdict.</p>"
    return ("<table><tr><th>invariant</th><th>verdict</th><th>summary</th><th>metrics</th>"
            "</tr>" + "".join(rows) + "</table>")


def _offenders(doc: RunDoc) -> str:
    rows = []
    for v in doc.verdicts:
        offenders = v.get("offenders") or {}
        for o in offenders.get("sample") or []:
            rows.append(f'<tr class="offender" data-verdict="{_e(v.get("name"))}">'
                        f'<td>{_e(v.get("name"))}</td><td>{_e(o.get("id"))}</td>'
                        f'<td>{_e(o.get("phase"))}</td><td>{_e(o.get("fault") or "-")}</td></tr>')
        total = offenders.get("total") or 0
        shown = len(offenders.get("sample") or [])
        if total > shown:
            rows.append(f'<tr><td>{_e(v.get("name"))}</td><td colspan="3">'
                        f"... and {total - shown} more (sample of {shown})</td></tr>")
    if not rows:
        return "<p>None.</p>"
    return ("<table><tr><th>invariant</th><th>order id</th><th>phase</th><th>fault</th></tr>"
            + "".join(rows) + "</table>")


STATES = ("applying", "applied", "verified", "reverting", "reverted")


def _journal(doc: RunDoc) -> str:
    t0 = doc.t0
    rows = []
    for a in actions(doc):
        stamps = "".join(f"<td>{_secs(a.times.get(s), t0)}</td>" for s in STATES)
        errors = "; ".join(f"{stage}: {text}" for stage, text in a.errors.items())
        css = "fail" if a.errors or a.last_state != "reverted" else "pass"
        rows.append(f'<tr class="action" data-action="{_e(a.id)}"><td>{_e(a.id)}</td>'
                    f"<td>{_e(a.fault)}</td><td>{_e(a.description)}</td>{stamps}"
                    f'<td class="{css}">{_e(a.last_state)}'
                    f'{" (by rollback)" if a.by_rollback else ""}</td><td>{_e(errors)}</td></tr>')
    if not rows:
        return "<p>No fault action was journaled.</p>"
    head = "".join(f"<th>{s}</th>" for s in STATES)
    return (f"<table><tr><th>action</th><th>fault</th><th>description</th>{head}"
            "<th>outcome</th><th>errors</th></tr>" + "".join(rows) + "</table>")


def _steady(doc: RunDoc) -> str:
    steady = doc.result.get("steady_state") or {}
    parts = []
    for when in ("before", "after"):
        rows = [f'<tr class="steady" data-when="{when}"><td>{_e(s.get("probe"))}</td>'
                f'<td>{_e(s.get("bounds"))}</td><td>{_e(s.get("value"))}</td>'
                f'<td class="{"pass" if s.get("ok") else "fail"}">'
                f'{"ok" if s.get("ok") else "FAIL"}</td><td>{_e(s.get("error"))}</td></tr>'
                for s in steady.get(when) or [] if isinstance(s, dict)]
        body = ("<table><tr><th>probe</th><th>bounds</th><th>value</th><th>ok</th>"
                "<th>error</th></tr>" + "".join(rows) + "</table>") if rows else "<p>Not run.</p>"
        parts.append(f"<h3>{when}</h3>{body}")
    return "".join(parts)


def _plots(doc: RunDoc) -> str:
    if doc.t0 is None:
        return "<p>The load never started: nothing to plot.</p>"
    try:
        from chaos.report.plots import plot_svg
        from chaos.report.series import series_of

        last = max((int(e["t"]) for e in doc.journal), default=None)
        s = series_of(doc.run_dir, doc.t0, last)
        svg = plot_svg(s, occurrences(doc))
    except Exception as exc:  # a report without plots beats no report
        return f'<p class="problems">plots unavailable: {_e(type(exc).__name__)}: {_e(exc)}</p>'
    notes = "".join(f"<li>{_e(v)}</li>" for v in s.problems.values())
    return svg + (f'<ul class="problems">{notes}</ul>' if notes else "")


def render_html(run_dir: Path) -> str:
    doc = read_doc(run_dir)
    r = doc.result
    status = doc.status
    reason = r.get("reason")
    ran = "could not run" if status in COULD_NOT_RUN else ""
    problems = "".join(f"<li>{_e(p)}</li>" for p in doc.problems)
    facts = [("run", r.get("run_id") or run_dir.name), ("target", r.get("target")),
             ("seed", doc.seed), ("bug variant", r.get("bug")), ("drained", r.get("drained")),
             ("exit code", r.get("exit_code"))]
    fact_rows = "".join(f"<tr><th>{k}</th><td>{_e(v)}</td></tr>" for k, v in facts
                        if v is not None)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{_e(doc.name)}: {_e(status)}</title><style>{CSS}</style></head><body>
<h1>{_e(doc.name)} <span class="status s-{_e(status)}" id="status">{_e(status)}</span></h1>
<p id="reason">{_e(reason or ("every invariant held" if status == "passed" else ran))}</p>
{f'<ul class="problems">{problems}</ul>' if problems else ""}
<table>{fact_rows}</table>
<h2>Verdicts</h2>{_verdicts(doc)}
<h2>Over time</h2>{_plots(doc)}
<h2>Offenders</h2>{_offenders(doc)}
<h2>Fault journal</h2>{_journal(doc)}
<h2>Steady state</h2>{_steady(doc)}
<h2>Experiment</h2><pre>{_e(doc.experiment_text)}</pre>
<h2>Target</h2><pre>{_e(doc.target_text)}</pre>
<h2>Replay</h2><p>seed <code id="seed">{_e(doc.seed)}</code></p>
<pre id="replay">{_e(doc.replay_command())}</pre>
</body></html>
"""
