"""Probe `prometheus`, modelled on Litmus's promProbe: a number read from Prometheus, either
a PromQL query against a Prometheus HTTP API (`/api/v1/query`) or a metric scraped from one
or more `/metrics` endpoints, plus an optional comparator.

A target declares its metrics by name in `probes.settings.prometheus`, and each becomes a
probe `prometheus:NAME` for steady state, abort conditions and the sampler (a column of
timeseries.jsonl). Experiments name them, so a target maps its own metric names to the
names experiments and checks use (like the role-named proxies):

```yaml
probes:
  settings:
    prometheus:
      duplicates:                      # probe prometheus:duplicates
        scrape: ["http://${component:consumer/admin/0}/metrics", ...]
        metric: consumer_duplicates_total
        labels: {}                     # only samples carrying these labels
        aggregate: sum                 # over every matching sample of every endpoint
      dup_rate:
        url: http://127.0.0.1:9090     # PromQL mode
        query: sum(rate(consumer_duplicates_total[30s]))
        comparator: {criteria: "<=", value: 0.05}
```

The comparator is what a steady-state entry that gives no bound of its own checks
(`{probe: prometheus:dup_rate}`); `min`/`max`/`equals` in the entry replace it. The I/O
lives in chaos/probes/promsource.py (httpx and prometheus_client, imported on first use).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from msgspec import Meta

from chaos.paramdoc import param
from chaos.probes.base import ProbeEnv, ProbeError
from chaos.spec.structs import Strict
from chaos.spec.units import Duration

KEY = "prometheus"  # the probes.settings key holding the members, and the name prefix
_OPS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class Comparator(Strict, frozen=True):
    """Litmus's comparator: the probe holds when `value <criteria> comparator.value`."""

    criteria: Literal["==", "!=", "<", "<=", ">", ">="]
    value: float

    def holds(self, measured: float) -> bool:
        return _OPS[self.criteria](measured, self.value)

    def text(self) -> str:
        return f"{self.criteria} {self.value:g}"


class Metric(Strict, frozen=True):
    """One member: PromQL (`url` + `query`) or scrape (`scrape` + `metric`)."""

    url: Annotated[str, Meta(pattern=r"^https?://")] | None = None
    query: str | None = None
    scrape: Annotated[str, Meta(pattern=r"^https?://|\$\{")] | list[str] | None = None
    metric: Annotated[str, Meta(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")] | None = None
    labels: dict[str, str] = {}
    aggregate: Literal["sum", "max", "min", "avg", "count"] = "sum"
    comparator: Comparator | None = None
    timeout: Duration = 0.4  # per request; a sampler tick waits at most this per endpoint

    def __post_init__(self) -> None:
        super().__post_init__()
        promql = self.url is not None or self.query is not None
        scrape = self.scrape is not None or self.metric is not None
        if promql == scrape:
            raise ValueError("give either url + query (PromQL) or scrape + metric")
        if promql and (self.url is None or not (self.query or "").strip()):
            raise ValueError("PromQL mode needs both url and query")
        if scrape and (not self.scrape or self.metric is None):
            raise ValueError("scrape mode needs both scrape (one URL or a list) and metric")
        if self.timeout <= 0:
            raise ValueError("timeout must be a positive duration")
        if promql and self.labels:
            raise ValueError("labels go with scrape mode; in PromQL put them in the query")

    @property
    def endpoints(self) -> list[str]:
        return [self.scrape] if isinstance(self.scrape, str) else list(self.scrape or [])

    def describe(self) -> str:
        if self.query is not None:
            return f"PromQL {self.query!r} at {self.url}"
        labels = ",".join(f'{k}="{v}"' for k, v in self.labels.items())
        return f"{self.aggregate}({self.metric}{{{labels}}}) over {len(self.endpoints)} endpoint(s)"


def members(settings: dict[str, Any]) -> dict[str, Any]:
    raw = settings.get(KEY) or {}
    return raw if isinstance(raw, dict) else {}


def parse(settings: dict[str, Any], name: str) -> Metric:
    """Member `name` of probes.settings.prometheus (validate has checked the file)."""
    from chaos.spec.structs import ValidationError, decode

    raw = members(settings).get(name)
    if raw is None:
        known = ", ".join(f"{KEY}:{n}" for n in members(settings)) or "none"
        raise ProbeError(f"no metric {name!r} in probes.settings.{KEY}; defined: {known}")
    try:
        return decode(Metric, raw)
    except ValidationError as exc:
        raise ProbeError(f"probes.settings.{KEY}.{name}: {exc}") from None


@dataclass
class Member:
    """The probe `prometheus:NAME` (bound to its settings, references resolved)."""

    name: str
    spec: Metric

    @property
    def description(self) -> str:
        return self.spec.describe()

    @property
    def comparator(self) -> Comparator | None:
        return self.spec.comparator

    def measure(self, env: ProbeEnv) -> float:
        from chaos.probes import promsource

        return promsource.measure(self.spec)

    def check(self) -> None:
        """Prepare: every endpoint answers and a query is accepted (ProbeError otherwise)."""
        from chaos.probes import promsource

        promsource.check(self.spec)


class Prometheus:
    name = KEY
    description = ("a number from Prometheus: a PromQL query or a scraped /metrics sample, "
                   "as probe prometheus:NAME for each NAME in probes.settings.prometheus")
    params = (
        param(KEY, "{NAME: {url, query} | {scrape, metric, labels, aggregate}, comparator}",
              {}, "the metrics, each a probe prometheus:NAME (docs/probes.md)"),
    )
    settings_model = Metric  # each member of probes.settings.prometheus (validate)

    def member_names(self, settings: dict[str, Any]) -> list[str]:
        return [f"{KEY}:{name}" for name in members(settings)]

    def member(self, name: str, settings: dict[str, Any]) -> Member:
        return Member(f"{KEY}:{name}", parse(settings, name))

    def measure(self, env: ProbeEnv) -> float:
        raise ProbeError(f"name a metric: {KEY}:NAME, with NAME in probes.settings.{KEY}")


PROMETHEUS = Prometheus()
