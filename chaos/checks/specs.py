"""The built-in checks' light halves: name, description, inputs and parameter parsing.

No numpy here: `pipechaos validate` imports only this. Each implementation module
subclasses its spec, so a parameter accepted at validation time is parsed by exactly the
same code when the check runs. The registered objects (entry points) are at the bottom.
"""

from __future__ import annotations

import re
from typing import Any

from chaos.checks.lazy import LazyCheck
from chaos.checks.params import RELATIVE_PATTERN, Bound, Params
from chaos.paramdoc import from_schema
from chaos.spec.units import DURATION_PATTERN

STAT = r"p(\d+(?:\.\d+)?)|max"
SUMS = ("stock", "reserved", "charged", "points")
# the phases of a run an order can be published in ("outside": in none of them)
PHASES = ("baseline", "fault", "recovery", "drain", "outside")


def unknown_phase(name: str) -> str:
    import difflib  # only for the message

    close = difflib.get_close_matches(name, PHASES, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown phase {name!r}{hint}; known: {', '.join(PHASES)}"

# JSON Schema of each check's parameters (`pipechaos schema`, editors), and through
# paramdoc.from_schema the entries `pipechaos list` shows; the parsers below stay the
# authority, and tests/core/test_schema.py keeps the two in step.
Schema = dict[str, Any]


def _duration(text: str, default: str | None = None) -> Schema:
    out: Schema = {"type": "string", "pattern": DURATION_PATTERN, "description": text}
    return out if default is None else {**out, "default": default}


def _names(text: str, choices: tuple[str, ...] = ()) -> Schema:
    item: Schema = {"type": "string", **({"enum": list(choices)} if choices else {})}
    return {"description": text, "anyOf": [item, {"type": "array", "items": item, "minItems": 1}]}


BOUND: Schema = {
    "description": "an absolute duration (200ms) or relative to the baseline (3x baseline)",
    "type": "string",
    "anyOf": [{"pattern": DURATION_PATTERN}, {"pattern": RELATIVE_PATTERN}],
    "examples": ["200ms", "3x baseline", "3x baseline + 50ms"],
}


class DeliverySpec:
    name = "delivery"
    description = (
        "every ok publish reaches a terminal outcome; no phantom outcomes; "
        "no valid order dead-lettered"
    )
    needs: tuple[str, ...] = ("history", "observations")

    def _parse(self, params: dict[str, Any]) -> tuple[Params, bool]:
        p = Params(params, ("allow_dead_lettered",))
        return p, p.flag("allow_dead_lettered", False)
    params_schema: Schema = {"properties": {}}
    params = from_schema(params_schema)  # what `pipechaos list` shows

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self._parse(params)[0].errors


class EffectsSpec:
    name = "effects"
    description = "no side effect applied more than once for an order"
    needs: tuple[str, ...] = ("history", "observations")
    params_schema: Schema = {
        "properties": {"effects": _names("check only these effects (default: every one)")}
    }
    params = from_schema(params_schema)  # what `pipechaos list` shows

    def _parse(self, params: dict[str, Any]) -> tuple[Params, list[str] | None]:
        p = Params(params, ("effects",))
        return p, p.names("effects", None)

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self._parse(params)[0].errors


class SagaSpec:
    name = "saga"
    description = "sagas terminal in time, completed exactly or fully compensated; sums hold"
    needs: tuple[str, ...] = ("history", "observations")
    params_schema: Schema = {
        "properties": {
            "within": _duration("every saga terminal this long after its publish", "30s"),
            "sums": _names(f"conservation sums to check, among {', '.join(SUMS)} "
                           "(default: every one whose totals exist)", SUMS),
        }
    }
    params = from_schema(params_schema)  # what `pipechaos list` shows

    def _parse(self, params: dict[str, Any]) -> tuple[Params, float, list[str] | None]:
        p = Params(params, ("within", "sums"))
        within = p.duration("within", 30.0)
        sums = p.names("sums", None)
        for s in sums or []:
            if s not in SUMS:
                p.fail("sums", f"unknown sum {s!r} (known: {', '.join(SUMS)})")
        return p, within or 0.0, sums

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self._parse(params)[0].errors


class DlqSpec:
    name = "dlq"
    description = "each poison message dead-lettered once with reason and attempt count"
    needs: tuple[str, ...] = ("history", "observations")
    params_schema: Schema = {
        "properties": {
            "attempts": {"type": "integer", "minimum": 1,
                         "description": "deliveries before dead-lettering (default: observed)"},
            "allow_non_poison": {"type": "boolean", "default": False,
                                 "description": "valid orders may be dead-lettered too"},
        }
    }  # fmt: skip
    params = from_schema(params_schema)  # what `pipechaos list` shows

    def _parse(self, params: dict[str, Any]) -> tuple[Params, int | None, bool]:
        p = Params(params, ("attempts", "allow_non_poison"))
        return p, p.integer("attempts", None, minimum=1), p.flag("allow_non_poison", False)

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self._parse(params)[0].errors


class LatencySpec:
    name = "latency"
    description = "end-to-end p50/p99/max per phase within absolute or baseline-relative bounds"
    needs: tuple[str, ...] = ("history", "observations", "phases")
    params_schema: Schema = {
        "properties": {
            "phase": _names(f"only these phases, among {', '.join(PHASES)} "
                            "(default: every phase with data)"),
            "from": {"enum": ["invoke", "ok"], "default": "invoke",
                     "description": "latency from the publish's invoke or its broker ack"},
            "p50": BOUND, "p90": BOUND, "p99": BOUND, "p99.9": BOUND, "max": BOUND,
        },
        "patternProperties": {f"^(?:{STAT})$": {**BOUND, "title": "pNN | max"}},
    }  # fmt: skip
    params = from_schema(params_schema)  # what `pipechaos list` shows

    def _parse(
        self, params: dict[str, Any]
    ) -> tuple[Params, dict[str, Bound], list[str] | None, str]:
        p = Params(params, ("phase", "from"), extra=STAT)
        bounds: dict[str, Bound] = {}
        for key in params:
            m = re.fullmatch(STAT, str(key))
            if not m:
                continue
            if m.group(1) is not None and not 0 < float(m.group(1)) <= 100:
                p.fail(key, "percentile must be within (0, 100], e.g. p99 or p99.9")
                continue
            bound = p.bound(key)
            if bound is not None:
                bounds[key] = bound
        phases = p.names("phase", None)
        for phase in phases or []:
            if phase not in PHASES:
                p.fail("phase", unknown_phase(phase))
        return p, bounds, phases, p.choice("from", "invoke", ("invoke", "ok"))

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self._parse(params)[0].errors


class RecoverySpec:
    name = "recovery"
    description = "lag and pending back to baseline level within a bound after the last heal"
    needs: tuple[str, ...] = ("timeseries", "phases")
    params_schema: Schema = {
        "properties": {
            "within": _duration("recovered this long after the last heal", "10s"),
            "slack": {"type": "number", "minimum": 0, "default": 10,
                      "description": "added to the baseline p95 level"},
            "hold": _duration("stay at level this long to count as recovered", "1s"),
            "metrics": {**_names("timeseries columns that must recover"),
                        "default": ["lag", "pending"]},
            "progress": {
                "description": "during the fault, at least `min` completions every `per`",
                "type": "object",
                "properties": {"min": {"type": "number", "minimum": 0, "default": 1},
                               "per": _duration("window length", "1s")},
                "additionalProperties": False,
            },
        }
    }  # fmt: skip
    params = from_schema(params_schema)  # what `pipechaos list` shows

    def _parse(self, params: dict[str, Any]) -> tuple[Params, dict[str, Any]]:
        p = Params(params, ("within", "slack", "hold", "metrics", "progress"))
        cfg: dict[str, Any] = {
            "within": p.duration("within", 10.0),
            "slack": p.number("slack", 10.0),
            "hold": p.duration("hold", 1.0),
            "metrics": p.names("metrics", ["lag", "pending"]),
            "progress": None,
        }
        prog = p.mapping("progress")
        if prog is not None:
            sub = Params(prog, ("min", "per"))
            cfg["progress"] = (sub.number("min", 1.0), sub.duration("per", 1.0) or 1.0)
            if cfg["progress"][1] <= 0:
                sub.fail("per", "must be a positive duration")
            p.errors += [f"progress.{e}" for e in sub.errors]
        return p, cfg

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self._parse(params)[0].errors


# the objects registered under pipechaos.checks (pyproject.toml)
DELIVERY = LazyCheck(DeliverySpec(), "chaos.checks.delivery:CHECK")
EFFECTS = LazyCheck(EffectsSpec(), "chaos.checks.effects:CHECK")
SAGA = LazyCheck(SagaSpec(), "chaos.checks.saga:CHECK")
DLQ = LazyCheck(DlqSpec(), "chaos.checks.dlq:CHECK")
LATENCY = LazyCheck(LatencySpec(), "chaos.checks.latency:CHECK")
RECOVERY = LazyCheck(RecoverySpec(), "chaos.checks.recovery:CHECK")
