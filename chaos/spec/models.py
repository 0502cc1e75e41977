"""Experiment and Target files as typed models; their JSON Schema is generated from these.

Fault parameters, invariant parameters and plugin settings are open here and validated
by the plugin that owns them (its `Params` model or `validate`), so a plugin package can
add fields without touching the core. A fault or invariant entry's own keys are decoded
here; `prepare` moves every other key into its `params` map first.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, field

from chaos.spec.structs import Strict
from chaos.spec.units import Duration, Rate

API_VERSION = "pipechaos/v1"
Name = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-_.]*$")]


def _doc(text: str) -> Meta:
    return Meta(description=text)


class Metadata(Strict, frozen=True):
    name: Name
    description: str = ""
    tags: list[str] = []


# ---------------------------------------------------------------- experiment


class Load(Strict, frozen=True):
    rate: Rate
    duration: Duration
    ramp: Duration = 0.0
    poison: Annotated[float, Meta(ge=0.0, le=1.0)] = 0.0
    users: Annotated[int, Meta(ge=1, le=64), _doc("load processes (Locust workers)")] = 1
    payload: Annotated[dict[str, Any], _doc("publisher payload options")] = {}


Threshold = Annotated[
    float | Literal["all"],
    _doc("a number, or `all`: the total the target declares for this probe "
         "(pods_ready: its pods matching probes.settings.pods_selector)"),
]


class ProbeCheck(Strict, frozen=True):
    """A steady-state check: the probe's value must satisfy every bound given."""

    probe: str
    min: Threshold | None = None
    max: Threshold | None = None
    equals: Threshold | None = None
    timeout: Annotated[Duration, _doc("keep polling until met or this long")] = 10.0


def _split(entry: Any, own: tuple[str, ...]) -> Any:
    """{own keys..., params: {every other key}}; anything but a mapping is left to fail."""
    if not isinstance(entry, dict):
        return entry
    out = {k: v for k, v in entry.items() if k in own}
    out["params"] = {k: v for k, v in entry.items() if k not in own}
    return out


class FaultSpec(Strict, kw_only=True, frozen=True):
    """One fault entry; its other keys are the fault type's parameters."""

    type: str
    at: Duration
    duration: Duration | None = None
    every: Duration | None = None
    until: Duration | None = None
    start_jitter: Annotated[
        Duration | None,
        _doc("delay each occurrence by a seeded random amount in [0, start_jitter)"),
    ] = None
    params: dict[str, Any] = {}

    OWN = ("type", "at", "duration", "every", "until", "start_jitter")

    @classmethod
    def prepare(cls, data: Any) -> Any:
        return _split(data, cls.OWN)


class InvariantSpec(Strict, kw_only=True, frozen=True):
    """One invariant: `check` is the checker; its other keys are the check's parameters."""

    check: str
    name: str | None = None
    params: dict[str, Any] = {}

    OWN = ("check", "name")

    @classmethod
    def prepare(cls, data: Any) -> Any:
        """`delivery` is short for `{check: delivery}`."""
        return _split({"check": data} if isinstance(data, str) else data, cls.OWN)

    @property
    def verdict_name(self) -> str:
        return self.name or self.check


class AbortCondition(Strict, frozen=True):
    probe: str
    above: float | None = None
    below: float | None = None
    for_: Duration = field(default=0.0, name="for")

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")


class Timing(Strict, frozen=True):
    drain_timeout: Duration = 30.0
    duration: Duration | None = None
    sample_interval: Duration = 0.5


class Safety(Strict, frozen=True):
    allowed_namespaces: list[str] = []
    max_pods: Annotated[int, Meta(ge=1)] | None = None


class Experiment(Strict, frozen=True):
    apiVersion: Literal["pipechaos/v1"]
    kind: Literal["Experiment"]
    metadata: Metadata
    target: str
    load: Load | Literal["none"]
    steady_state: list[ProbeCheck] = []
    faults: list[FaultSpec] = []
    invariants: list[InvariantSpec] = []
    abort_when: list[AbortCondition] = []
    timing: Timing = field(default_factory=Timing)
    safety: Safety = field(default_factory=Safety)

    @classmethod
    def prepare(cls, data: Any) -> Any:
        """Fault and invariant entries get their open `params` maps."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key, entry in (("faults", FaultSpec), ("invariants", InvariantSpec)):
            if isinstance(data.get(key), list):
                data[key] = [entry.prepare(item) for item in data[key]]
        return data

    def window_s(self) -> float:
        """Length of the load (or, with load: none, timing.duration) window."""
        if isinstance(self.load, Load):
            return self.load.duration
        return self.timing.duration or 0.0


# ---------------------------------------------------------------- target


class Platform(Strict, frozen=True):
    type: str = "local"
    settings: dict[str, Any] = {}


class Ready(Strict, frozen=True):
    tcp: str | None = None  # a named port
    http: str | None = None  # a named port
    path: str = "/healthz"
    timeout: Duration = 20.0


class Restart(Strict, frozen=True):
    policy: Literal["always", "never"] = "always"
    backoff: Duration = 0.2
    max_backoff: Duration = 5.0


class TlsServing(Strict, frozen=True):
    """A component serving TLS: the platform gives it a certificate from a per-deployment CA."""

    port: str  # the named port that speaks TLS
    hosts: list[str] = field(default_factory=lambda: ["localhost", "127.0.0.1"])
    secret: Annotated[
        str | None, _doc("Kubernetes: the Secret (tls.crt, tls.key) the pods mount")
    ] = None
    reload: Annotated[
        Literal["restart", "signal"],
        _doc("Kubernetes: how pods pick up a patched Secret (rollout restart, or SIGHUP)"),
    ] = "restart"


class Component(Strict, kw_only=True, frozen=True):
    name: Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    labels: dict[str, str] = {}
    replicas: Annotated[int, Meta(ge=0, le=64)] = 1
    command: list[str] = []
    image: str | None = None  # Kubernetes platform (later)
    workload: (
        Annotated[
            str,
            Meta(pattern=r"^(Deployment|StatefulSet|DaemonSet|ReplicaSet)/[a-z0-9][a-z0-9-.]*$",
                 description="Kubernetes: the owning workload, KIND/NAME"),
        ]
        | None
    ) = None
    ports: list[str] = []
    ready: Ready | None = None
    settings: dict[str, Any] = {}
    env: dict[str, str] = {}
    tls: TlsServing | None = None
    restart: Restart = field(default_factory=Restart)


class ProxySpec(Strict, kw_only=True, frozen=True):
    name: Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9-_.]*$")]
    listen: str = "auto"  # "auto" = a free loopback port
    upstream: str


class ProxyServerUrl(Strict, frozen=True):
    """A proxy server outside the run: a Toxiproxy by `url`, or (Kubernetes) the one
    deployed with the pipeline, named by its `service` and the port name of its API."""

    url: Annotated[str, Meta(pattern=r"^https?://")] | None = None
    service: Annotated[str | None, _doc("Kubernetes: the proxy server's Service")] = None
    port: Annotated[str, _doc("Kubernetes: the Service's port name for the API")] = "api"
    server: Annotated[
        Literal["toxiproxy", "pipechaos"],
        _doc("the real Toxiproxy, or `pipechaos proxy` (which also has the tls toxic)"),
    ] = "toxiproxy"

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.url is None) == (self.service is None):
            raise ValueError("give exactly one of url or service")


class PluginRef(Strict, frozen=True):
    type: str
    settings: dict[str, Any] = {}


class ProbeSettings(Strict, frozen=True):
    type: Literal["redis-stream", "rabbitmq"] = "redis-stream"  # the broker probes' backend
    settings: dict[str, Any] = {}


class TargetSpec(Strict, frozen=True):
    apiVersion: Literal["pipechaos/v1"]
    kind: Literal["Target"]
    metadata: Metadata
    platform: Platform = field(default_factory=Platform)
    proxy_server: Literal["embedded"] | ProxyServerUrl = "embedded"
    components: list[Component] = []
    proxies: list[ProxySpec] = []
    publisher: PluginRef | None = None
    observer: PluginRef | None = None
    probes: ProbeSettings = field(default_factory=ProbeSettings)
    bug: str | None = None

    def component(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name == name), None)

    def proxy(self, name: str) -> ProxySpec | None:
        return next((p for p in self.proxies if p.name == name), None)

    @property
    def real_toxiproxy(self) -> bool:
        """The proxy server lacks our own toxics (tls): a Toxiproxy by URL or Service."""
        if isinstance(self.proxy_server, ProxyServerUrl):
            return self.proxy_server.server == "toxiproxy"
        return False

    @property
    def shared_proxy_server(self) -> bool:
        """The proxy server outlives the run (toxics must be removed, not left to die)."""
        return self.proxy_server != "embedded"
