"""The built-in checks' light halves: name, description, inputs and parameter parsing.

No numpy here: `pipechaos validate` imports only this. Each implementation module
subclasses its spec, so a parameter accepted at validation time is parsed by exactly the
same code when the check runs. The registered objects (entry points) are at the bottom.
"""

from __future__ import annotations

import re
from typing import Any

from chaos.checks.lazy import LazyCheck
from chaos.checks.params import Bound, Params

STAT = r"p(\d+(?:\.\d+)?)|max"
SUMS = ("stock", "reserved", "charged", "points")


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

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self._parse(params)[0].errors


class EffectsSpec:
    name = "effects"
    description = "no side effect applied more than once for an order"
    needs: tuple[str, ...] = ("history", "observations")

    def _parse(self, params: dict[str, Any]) -> tuple[Params, list[str] | None]:
        p = Params(params, ("effects",))
        return p, p.names("effects", None)

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self._parse(params)[0].errors


class SagaSpec:
    name = "saga"
    description = "sagas terminal in time, completed exactly or fully compensated; sums hold"
    needs: tuple[str, ...] = ("history", "observations")

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

    def _parse(self, params: dict[str, Any]) -> tuple[Params, int | None, bool]:
        p = Params(params, ("attempts", "allow_non_poison"))
        return p, p.integer("attempts", None, minimum=1), p.flag("allow_non_poison", False)

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self._parse(params)[0].errors


class LatencySpec:
    name = "latency"
    description = "end-to-end p50/p99/max per phase within absolute or baseline-relative bounds"
    needs: tuple[str, ...] = ("history", "observations", "phases")

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
        return p, bounds, p.names("phase", None), p.choice("from", "invoke", ("invoke", "ok"))

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self._parse(params)[0].errors


class RecoverySpec:
    name = "recovery"
    description = "lag and pending back to baseline level within a bound after the last heal"
    needs: tuple[str, ...] = ("timeseries", "phases")

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
