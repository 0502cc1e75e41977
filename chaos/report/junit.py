"""junit.xml: one testsuite per run, for CI pages (Jenkins junit-10.xsd).

Testcases: one per invariant, the steady state before and after, one per journaled fault
action (failing on any failed stage, which the message names), and `run` itself: an
`<error>` when the run could not run (not steady, error, interrupted), a `<failure>`
when an abort stopped it.
"""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos.report.rundoc import COULD_NOT_RUN, RunDoc, actions, read_doc


def _case(suite: ET.Element, classname: str, name: str, seconds: float = 0.0) -> ET.Element:
    return ET.SubElement(suite, "testcase", name=name, classname=classname,
                         time=f"{max(seconds, 0.0):.3f}")


def _offender_body(verdict: dict[str, Any]) -> str:
    offenders = verdict.get("offenders") or {}
    sample = offenders.get("sample") or []
    lines = [f"offenders: {offenders.get('total', len(sample))} (sample of {len(sample)})"]
    lines += [f"  order {o.get('id')}: phase {o.get('phase')}, fault {o.get('fault') or '-'}"
              for o in sample]
    lines.append("metrics: " + json.dumps(verdict.get("metrics") or {}, default=str))
    return "\n".join(lines)


def _phase_seconds(doc: RunDoc, name: str) -> float:
    span = (doc.result.get("phases") or {}).get(name)
    if not isinstance(span, dict):
        return 0.0
    start, end = span.get("start"), span.get("end")
    return (end - start) / 1e9 if isinstance(start, int) and isinstance(end, int) else 0.0


def _steady(suite: ET.Element, doc: RunDoc, classname: str, when: str) -> None:
    checks = [s for s in (doc.result.get("steady_state") or {}).get(when) or []
              if isinstance(s, dict)]
    case = _case(suite, classname, f"steady_state.{when}")
    failed = [s for s in checks if not s.get("ok")]
    if not checks:
        ET.SubElement(case, "skipped", message=f"steady state {when}: not checked")
    elif failed:
        text = "; ".join(f"{s.get('probe')} {s.get('value')} not within {s.get('bounds')}"
                         + (f" ({s.get('error')})" if s.get("error") else "") for s in failed)
        ET.SubElement(case, "failure", message=f"steady state {when}: {text}",
                      type="steady_state").text = json.dumps(checks, default=str, indent=1)


def junit_tree(doc: RunDoc) -> ET.Element:
    classname = f"pipechaos.{doc.name}"
    suite = ET.Element("testsuite", name=doc.name, tests="0", failures="0", errors="0",
                       skipped="0")
    prepare = (doc.result.get("phases") or {}).get("prepare")
    started = prepare.get("start") if isinstance(prepare, dict) else None
    if isinstance(started, int):
        stamp = datetime.fromtimestamp(started / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        suite.set("timestamp", stamp)
    suite.set("hostname", socket.gethostname())
    props = ET.SubElement(suite, "properties")
    for key in ("run_id", "target", "seed", "status", "exit_code", "bug"):
        if doc.result.get(key) is not None:
            ET.SubElement(props, "property", name=key, value=str(doc.result[key]))
    ET.SubElement(props, "property", name="replay", value=doc.replay_command())

    run_case = _case(suite, classname, "run")
    reason = str(doc.result.get("reason") or "")
    if doc.status in COULD_NOT_RUN or not doc.result:
        message = f"{doc.status}: {reason}" if reason else doc.status
        if not doc.result:
            message = "no readable result.json: " + "; ".join(doc.problems)
        ET.SubElement(run_case, "error", message=message, type=doc.status)
    elif doc.status == "aborted":
        ET.SubElement(run_case, "failure", message=f"aborted: {reason}", type="aborted")

    _steady(suite, doc, classname, "before")
    check_time = _phase_seconds(doc, "check")
    for v in doc.verdicts:
        case = _case(suite, f"{classname}.invariant", str(v.get("name")), check_time)
        if not v.get("ok"):
            ET.SubElement(case, "failure", message=str(v.get("summary") or "violated"),
                          type="invariant").text = _offender_body(v)
    _steady(suite, doc, classname, "after")
    for a in actions(doc):
        case = _case(suite, f"{classname}.fault", f"{a.id} {a.fault}")
        if a.errors:
            stages = ", ".join(a.errors)
            detail = "; ".join(f"{stage}: {text}" for stage, text in a.errors.items())
            ET.SubElement(case, "failure", message=f"{stages} failed: {detail}",
                          type="fault_action").text = a.description
        elif a.last_state != "reverted":
            ET.SubElement(case, "failure", message=f"revert: never reverted "
                          f"(last state {a.last_state})", type="fault_action")

    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        suite.set(attr, str(sum(1 for c in cases if c.find(tag) is not None)))
    total = sum(_phase_seconds(doc, p) for p in (doc.result.get("phases") or {}))
    suite.set("time", f"{total:.3f}")
    return suite


def render_junit(run_dir: Path) -> str:
    tree = junit_tree(read_doc(run_dir))
    ET.indent(tree)
    body = ET.tostring(tree, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
