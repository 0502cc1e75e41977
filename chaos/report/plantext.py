"""`pipechaos plan` as text: the phases with their start and end, then one line per fault
occurrence with its parameters (and the defaults it leaves), all in YAML notation."""

from __future__ import annotations

from typing import Any

from chaos.spec.flow import flow


def plan_lines(plan: dict[str, Any]) -> list[str]:
    window = plan["window_ns"] / 1e9
    lines = [
        f"experiment {plan['experiment']} on {plan['target']}, seed {plan['seed']}, "
        f"window {window:g}s, load {_load_text(plan['load'])}",
        "phases (seconds from t = 0, when the load starts):",
    ]
    for ph in plan.get("phases", []):
        end = f"at most {ph['end_s']:g}s" if ph.get("at_most") else f"{ph['end_s']:g}s"
        lines.append(f"  {ph['phase']:<9} {ph['start_s']:g}s -> {end}")
    if not plan["occurrences"]:
        lines.append("no faults")
        return lines
    lines.append("faults:")
    for o in plan["occurrences"]:
        until = "instant" if o["until_s"] is None else f"until {o['until_s']:.3f}s"
        lines.append(f"  {o['at_s']:8.3f}s  {o['id']:<6} {o['type']:<22} {until}")
        if o["params"]:
            lines.append(f"{'':14}{_pairs(o['params'])}")
        if o.get("defaults"):
            lines.append(f"{'':14}defaults: {_pairs(o['defaults'])}")
    return lines


def _pairs(params: dict[str, Any]) -> str:
    return flow(params)[1:-1]  # `a: 1, b: {c: d}` without the outer braces


def _load_text(load: Any) -> str:
    if not isinstance(load, dict):
        return str(load)
    return f"{load.get('rate')} for {load.get('duration')}"
