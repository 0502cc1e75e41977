"""`metrics_truth`'s light half (name, parameters, validation); the numpy implementation
is chaos/checks/metrics_truth.py, imported on the first call (chaos/checks/lazy.py)."""

from __future__ import annotations

from typing import Any

from chaos.checks.lazy import LazyCheck
from chaos.checks.params import Params
from chaos.paramdoc import param
from chaos.spec.units import DURATION_PATTERN

Schema = dict[str, Any]
DEFAULTS: dict[str, Any] = {
    "duplicates": "prometheus:duplicates*",
    "lag": "prometheus:lag_ms",
    "dup_tolerance": 0.25,
    "dup_slack": 3,
    "lag_tolerance": 0.5,
    "lag_slack": 1.0,
}


def _number(text: str, default: float) -> Schema:
    return {"type": "number", "minimum": 0, "default": default, "description": text}


class MetricsTruthSpec:
    name = "metrics_truth"
    description = (
        "during and after each fault, the pipeline's own duplicate count and lag agree "
        "with what the history and observations prove"
    )
    needs: tuple[str, ...] = ("history", "observations", "timeseries", "phases")
    params = (
        param("duplicates", "column pattern", DEFAULTS["duplicates"],
              "timeseries columns of the pipeline's duplicate counters (fnmatch; summed, "
              "each reset-aware)"),
        param("lag", "column", DEFAULTS["lag"], "timeseries column of the pipeline's lag (ms)"),
        param("dup_tolerance", "ratio", DEFAULTS["dup_tolerance"],
              "duplicates agree within this share of the truth ..."),
        param("dup_slack", "number", DEFAULTS["dup_slack"], "... or within this many"),
        param("lag_tolerance", "ratio", DEFAULTS["lag_tolerance"],
              "the lag shown may fall short of the true peak by this share ..."),
        param("lag_slack", "duration", "1s", "... or by this much"),
    )
    params_schema: Schema = {
        "properties": {
            "duplicates": {"type": "string", "default": DEFAULTS["duplicates"],
                           "description": "columns of the duplicate counters (fnmatch)"},
            "lag": {"type": "string", "default": DEFAULTS["lag"],
                    "description": "column of the lag gauge, in ms"},
            "dup_tolerance": _number("relative tolerance on duplicates", 0.25),
            "dup_slack": _number("absolute tolerance on duplicates", 3),
            "lag_tolerance": _number("relative tolerance on the lag peak", 0.5),
            "lag_slack": {"type": "string", "pattern": DURATION_PATTERN, "default": "1s",
                          "description": "absolute tolerance on the lag peak"},
        }
    }  # fmt: skip

    def _parse(self, params: dict[str, Any]) -> tuple[Params, dict[str, Any]]:
        p = Params(params, tuple(DEFAULTS))
        cfg: dict[str, Any] = {
            "duplicates": _text(p, "duplicates"),
            "lag": _text(p, "lag"),
            "dup_tolerance": p.number("dup_tolerance", DEFAULTS["dup_tolerance"]),
            "dup_slack": p.number("dup_slack", DEFAULTS["dup_slack"]),
            "lag_tolerance": p.number("lag_tolerance", DEFAULTS["lag_tolerance"]),
            "lag_slack": p.duration("lag_slack", DEFAULTS["lag_slack"]) or 0.0,
        }
        return p, cfg

    def validate(self, params: dict[str, Any]) -> list[str]:
        return self._parse(params)[0].errors


def _text(p: Params, key: str) -> str:
    value = p.raw.get(key, DEFAULTS[key])
    if not isinstance(value, str) or not value:
        p.fail(key, f"must be a timeseries column name, got {value!r}")
        return str(DEFAULTS[key])
    return value


METRICS_TRUTH = LazyCheck(MetricsTruthSpec(), "chaos.checks.metrics_truth:CHECK")
