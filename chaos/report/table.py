"""The verdict table printed at the end of `run` and `analyze` (plain text, no rich needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chaos.run.ledger import Entry


def print_verdicts(verdicts: list[dict[str, Any]], out: TextIO) -> None:
    if not verdicts:
        out.write("no invariants checked\n")
        return
    width = max(len(str(v.get("name", ""))) for v in verdicts)
    for v in verdicts:
        mark = "PASS" if v.get("ok") else "FAIL"
        out.write(f"  {mark}  {str(v.get('name', '')).ljust(width)}  {v.get('summary', '')}\n")
        offenders = v.get("offenders") or {}
        sample = offenders.get("sample") or []
        if not v.get("ok") and sample:
            shown = ", ".join(f"{o.get('id')} ({o.get('phase')}{_fault(o)})" for o in sample[:5])
            more = offenders.get("total", len(sample)) - min(5, len(sample))
            out.write(f"        e.g. {shown}{f' and {more} more' if more > 0 else ''}\n")


def mark_unfinished(verdicts: list[dict[str, Any]], how: str) -> list[dict[str, Any]]:
    """Verdicts over a run that ended early (interrupted, aborted, error, killed) say so:
    a PASS there judges partial data, not the whole experiment."""
    note = f"run never finished ({how})"
    return [{**v, "summary": f"{v.get('summary', '')} [{note}]", "unfinished": how}
            for v in verdicts]


def print_summary(result: dict[str, Any], out: TextIO) -> None:
    out.write(f"run {result.get('run_id')}: {result.get('status')}")
    if result.get("reason"):
        out.write(f" ({result['reason']})")
    out.write("\n")
    for side in ("before", "after"):
        for s in (result.get("steady_state") or {}).get(side, []):
            if not s.get("ok"):
                out.write(
                    f"  steady state {side}: {s.get('probe')} = {s.get('value')} "
                    f"(want {s.get('bounds')}){' ' + s['error'] if s.get('error') else ''}\n"
                )
    if result.get("status") in ("passed", "failed"):
        print_verdicts(result.get("verdicts") or [], out)
    for fault in result.get("faults") or []:
        if fault.get("outcome") not in ("reverted", None):
            out.write(
                f"  fault {fault.get('id')} left {fault.get('outcome')}: {fault.get('error')}\n"
            )


def _fault(offender: dict[str, Any]) -> str:
    return f", {offender['fault']}" if offender.get("fault") else ""


def reverted_text(entries: Sequence[Entry]) -> str:
    """What the end of a run reverted, newest first, one item per fault occurrence:
    `reverted 2 faults: f1.0 pod.pause, f0.0 network.latency` (plus any that failed)."""
    done: dict[str, str] = {}
    failed: dict[str, str] = {}
    for entry in reversed(entries):
        item = f"{entry.occurrence} {entry.fault}"
        (done if entry.outcome == "reverted" else failed)[entry.occurrence] = item
    for occurrence in failed:
        done.pop(occurrence, None)
    if not done and not failed:
        return "no fault was active: nothing to revert"
    text = f"reverted {_count(len(done), 'fault')}: {', '.join(done.values())}" if done else ""
    if failed:
        text += "; " if text else ""
        text += f"revert FAILED for {', '.join(failed.values())} (see journal.jsonl)"
    return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
