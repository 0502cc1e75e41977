"""Experiment and Target files as typed models; their JSON Schema is generated from these.

Fault parameters, invariant parameters and plugin settings are open here and validated
by the plugin that owns them (its `Params` model or `validate`), so a plugin package can
add fields without touching the core.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chaos.spec.units import Duration, Rate

API_VERSION = "pipechaos/v1"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metadata(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-_.]*$")
    description: str = ""
    tags: list[str] = []


# ---------------------------------------------------------------- experiment


class Load(Strict):
    rate: Rate
    duration: Duration
    ramp: Duration = 0.0
    poison: float = Field(0.0, ge=0.0, le=1.0)
    users: int = Field(1, ge=1, le=64, description="load processes (Locust workers)")
    payload: dict[str, Any] = Field(default_factory=dict, description="publisher payload options")


class ProbeCheck(Strict):
    """A steady-state check: the probe's value must satisfy every bound given."""

    probe: str
    min: float | None = None
    max: float | None = None
    equals: float | None = None
    timeout: Duration = Field(10.0, description="keep polling until met or this long")


class FaultSpec(BaseModel):
    """One fault entry; keys beyond these are the fault type's parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str
    at: Duration
    duration: Duration | None = None
    every: Duration | None = None
    until: Duration | None = None
    start_jitter: Duration | None = Field(
        None, description="delay each occurrence by a seeded random amount in [0, start_jitter)"
    )

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class InvariantSpec(BaseModel):
    """One invariant: `check` is the checker; other keys are its parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)
    check: str
    name: str | None = None

    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def verdict_name(self) -> str:
        return self.name or self.check


class AbortCondition(Strict):
    probe: str
    above: float | None = None
    below: float | None = None
    for_: Duration = Field(0.0, alias="for")

    @model_validator(mode="after")
    def _one_bound(self) -> AbortCondition:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        return self


class Timing(Strict):
    drain_timeout: Duration = 30.0
    duration: Duration | None = None
    sample_interval: Duration = 0.5


class Safety(Strict):
    allowed_namespaces: list[str] = []
    max_pods: int | None = Field(None, ge=1)


class Experiment(Strict):
    apiVersion: Literal["pipechaos/v1"]
    kind: Literal["Experiment"]
    metadata: Metadata
    target: str
    load: Load | Literal["none"]
    steady_state: list[ProbeCheck] = []
    faults: list[FaultSpec] = []
    invariants: list[InvariantSpec] = []
    abort_when: list[AbortCondition] = []
    timing: Timing = Timing()
    safety: Safety = Safety()

    @model_validator(mode="before")
    @classmethod
    def _bare_invariants(cls, data: Any) -> Any:
        """`- delivery` is short for `- {check: delivery}`."""
        if isinstance(data, dict) and isinstance(data.get("invariants"), list):
            data = dict(data)
            data["invariants"] = [
                {"check": i} if isinstance(i, str) else i for i in data["invariants"]
            ]
        return data

    def window_s(self) -> float:
        """Length of the load (or, with load: none, timing.duration) window."""
        if isinstance(self.load, Load):
            return self.load.duration
        return self.timing.duration or 0.0


# ---------------------------------------------------------------- target


class Platform(Strict):
    type: str = "local"
    settings: dict[str, Any] = {}


class Ready(Strict):
    tcp: str | None = None  # a named port
    http: str | None = None  # a named port
    path: str = "/healthz"
    timeout: Duration = 20.0


class Restart(Strict):
    policy: Literal["always", "never"] = "always"
    backoff: Duration = 0.2
    max_backoff: Duration = 5.0


class TlsServing(Strict):
    """A component serving TLS: the platform gives it a certificate from a per-deployment CA."""

    port: str  # the named port that speaks TLS
    hosts: list[str] = ["localhost", "127.0.0.1"]


class Component(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    labels: dict[str, str] = {}
    replicas: int = Field(1, ge=0, le=64)
    command: list[str] = []
    image: str | None = None  # Kubernetes platform (later)
    ports: list[str] = []
    ready: Ready | None = None
    settings: dict[str, Any] = {}
    env: dict[str, str] = {}
    tls: TlsServing | None = None
    restart: Restart = Restart()


class ProxySpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-_.]*$")
    listen: str = "auto"  # "auto" = a free loopback port
    upstream: str


class ProxyServerUrl(Strict):
    url: str = Field(pattern=r"^https?://")


class PluginRef(Strict):
    type: str
    settings: dict[str, Any] = {}


class ProbeSettings(Strict):
    settings: dict[str, Any] = {}


class TargetSpec(Strict):
    apiVersion: Literal["pipechaos/v1"]
    kind: Literal["Target"]
    metadata: Metadata
    platform: Platform = Platform()
    proxy_server: Literal["embedded"] | ProxyServerUrl = "embedded"
    components: list[Component] = []
    proxies: list[ProxySpec] = []
    publisher: PluginRef | None = None
    observer: PluginRef | None = None
    probes: ProbeSettings = ProbeSettings()
    bug: str | None = None

    def component(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name == name), None)

    def proxy(self, name: str) -> ProxySpec | None:
        return next((p for p in self.proxies if p.name == name), None)

    @property
    def real_toxiproxy(self) -> bool:
        return self.proxy_server != "embedded"
