"""Shared machinery of the faults that act through the Toxiproxy API (network.*, timeout.*).

One Action per proxy. It adds toxics named `pipechaos-<token>-<n>` (token: per run and
occurrence), or disables the proxy (refuse); revert removes exactly those toxics or
re-enables exactly that proxy, never `/reset`, so overlapping faults survive one another.
The record holds the API URL, the proxy, its listen address and the toxics, so
`restore(record).revert()` works without a platform.

verify() first checks, through the API, that the toxics are installed (or the proxy is
down), then proves the effect with a probe connection through the proxy's listen address.
For an arbitrary TCP upstream a probe can only prove what the upstream makes observable,
so each effect is judged against a direct probe of the upstream (a calibration): silence
through a blackhole proves something only when the upstream answers the probe directly,
and a latency is proven by a first byte that arrives no earlier than the added delay. An
outcome that contradicts the fault always fails verify; an inconclusive one (an upstream
that never answers the probe bytes) rests on the API check. See docs/proxy.md.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Annotated, Any, Literal

from msgspec import Meta

from chaos.faults.base import Action, FaultEnv, FaultNotEffective, FaultParams
from chaos.proxy.client import (
    ProxyNotFound,
    ToxicNotFound,
    ToxiproxyClient,
    ToxiproxyError,
    Unreachable,
)
from chaos.proxy.probe import Outcome, exchange
from chaos.spec.flow import flow
from chaos.spec.models import TargetSpec
from chaos.spec.names import no_proxy

Direction = Literal["both", "upstream", "downstream"]
Kind = Literal["refuse", "reset", "blackhole", "delay", "present"]
MAX_PROBE_WAIT_S = 3.0


class ProxySelector(FaultParams, frozen=True):
    """`{names: [a, b]}` or `{prefix: consumer-}` over the target's proxy names."""

    names: list[str] | None = None
    prefix: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.names is None) == (self.prefix is None):
            raise ValueError("proxies: give exactly one of names or prefix")

    def select(self, known: list[str]) -> list[str]:
        if self.names is not None:
            return list(self.names)
        return [n for n in known if n.startswith(self.prefix or "")]


class ProxiedParams(FaultParams, frozen=True):
    proxy: Annotated[str | None, Meta(description="one proxy by name")] = None
    proxies: Annotated[
        ProxySelector | None, Meta(description="several: {names: [...]} or {prefix}")
    ] = None
    direction: Direction = "downstream"
    probe: Annotated[
        str | None, Meta(description="bytes verify's probe sends; null: none")
    ] = "PING\r\n"

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.proxy is None) == (self.proxies is None):
            raise ValueError("give exactly one of proxy or proxies")

    def streams(self) -> list[str]:
        return ["upstream", "downstream"] if self.direction == "both" else [self.direction]


@dataclass(frozen=True)
class Plan:
    """What one fault does to one proxy, and what verify must see."""

    toxics: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # type, stream
    disable: bool = False
    kind: Kind = "present"
    min_delay_s: float = 0.0  # delay: the first byte comes no earlier than this
    reset_after_s: float = 0.0  # reset: RST expected this long after data
    answer_needed: bool = True  # the probe needs the upstream to answer (downstream effect)


def selected(params: ProxiedParams, target: TargetSpec) -> list[str]:
    known = [p.name for p in target.proxies]
    if params.proxy is not None:
        return [params.proxy]
    assert params.proxies is not None
    return params.proxies.select(known)


def selection_errors(params: ProxiedParams, target: TargetSpec) -> list[str]:
    known = [p.name for p in target.proxies]
    field_name = "proxy" if params.proxy is not None else "proxies"
    names = selected(params, target)
    if not names:
        assert params.proxies is not None  # a single `proxy` always names one
        shown = ", ".join(known) or "none"
        chosen = {"names": params.proxies.names, "prefix": params.proxies.prefix}
        shown_sel = flow({k: v for k, v in chosen.items() if v is not None})
        return [f"proxies: {shown_sel} matches no proxy of target "
                f"{target.metadata.name} (it has: {shown})"]
    return [f"{field_name}: {no_proxy(target, n)}" for n in names if n not in known]


# (api, proxy) -> tokens of the `refuse` actions holding it down, applied in this process
_REFUSING: dict[tuple[str, str], set[str]] = {}


@dataclass
class ToxicAction:
    """One proxy's share of a fault occurrence; JSON-safe record, idempotent revert."""

    fault: str
    api: str
    proxy: str
    listen: str | None
    toxics: list[dict[str, Any]]  # {name, type, stream, attributes}
    disable: bool
    expect: dict[str, Any]  # Plan's verify fields
    probe: str | None
    embedded: bool = False  # the proxy server dies with its run, and its toxics with it
    timeout_s: float = 5.0
    token: str = ""  # the occurrence's token: tells overlapping refuses apart
    # how to reach the proxy API again when `api` died with the run (a Kubernetes
    # port-forward): the platform's opaque access map, empty when `api` outlives the run
    access: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        if self.disable:
            return f"{self.fault}: proxy {self.proxy} down (new connections refused)"
        parts = ", ".join(f"{t['type']} {t['stream']} {flow(t['attributes'])}" for t in self.toxics)
        return f"{self.fault}: proxy {self.proxy}: {parts}"

    def record(self) -> dict[str, Any]:
        return {"fault": self.fault, "api": self.api, "proxy": self.proxy, "listen": self.listen,
                "toxics": self.toxics, "disable": self.disable, "expect": self.expect,
                "probe": self.probe, "embedded": self.embedded, "token": self.token,
                **({"access": self.access} if self.access else {})}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ToxicAction:
        return cls(record["fault"], record["api"], record["proxy"], record.get("listen"),
                   list(record.get("toxics", [])), bool(record.get("disable")),
                   dict(record.get("expect", {})), record.get("probe"),
                   bool(record.get("embedded")), token=str(record.get("token", "")),
                   access={str(k): str(v) for k, v in (record.get("access") or {}).items()})

    def _client(self) -> ToxiproxyClient:
        return ToxiproxyClient(self.api, timeout=self.timeout_s)

    def apply(self) -> None:
        with self._client() as c:
            for t in self.toxics:
                c.add_toxic(self.proxy, t["type"], stream=t["stream"], toxicity=1.0,
                            attributes=t["attributes"], name=t["name"])
            if self.disable:
                c.update_proxy(self.proxy, enabled=False)
                _REFUSING.setdefault((self.api, self.proxy), set()).add(self.token)

    def revert(self) -> None:
        try:
            self._revert()
        except Unreachable:
            if self.access:  # `api` was the dead run's own: reach the server anew
                self._revert_reattached()
            elif not self.embedded:  # a real Toxiproxy outlives the run: its toxics remain
                raise

    def _revert_reattached(self) -> None:
        from chaos.platforms.detached import reattach

        handle = reattach(self.access)
        if handle is None:
            raise Unreachable(f"proxy API {self.api} unreachable and no platform to ask")
        with handle.proxy_api() as url:
            replace(self, api=url, access={})._revert()

    def _revert(self) -> None:
        with self._client() as c:
            for t in self.toxics:
                with contextlib.suppress(ToxicNotFound, ProxyNotFound):  # idempotent
                    c.remove_toxic(self.proxy, t["name"])
            if self.disable:
                holding = _REFUSING.get((self.api, self.proxy), set())
                holding.discard(self.token)
                if holding:
                    return  # an overlapping refuse on this proxy still holds it down
                with contextlib.suppress(ProxyNotFound):
                    c.update_proxy(self.proxy, enabled=True)

    # ---------------------------------------------------------------- verify
    def verify(self) -> None:
        upstream = self._check_api()
        if self.listen is None:
            return
        check = _CHECKS[self.expect.get("kind", "present")]
        check(self, upstream)

    def _check_api(self) -> str:
        try:
            with self._client() as c:
                proxy = c.proxy(self.proxy)
        except ToxiproxyError as exc:
            raise FaultNotEffective(f"proxy {self.proxy}: {exc}") from None
        if self.disable and proxy.get("enabled", True):
            raise FaultNotEffective(f"proxy {self.proxy} is still enabled")
        present = {t.get("name"): t for t in proxy.get("toxics") or []}
        for t in self.toxics:
            got = present.get(t["name"])
            if got is None or got.get("type") != t["type"] or \
                    str(got.get("stream", "")).lower() != t["stream"]:
                raise FaultNotEffective(f"proxy {self.proxy}: toxic {t['name']} not installed")
        return str(proxy.get("upstream", ""))

    def _payload(self) -> bytes | None:
        return self.probe.encode() if self.probe else None

    def _through(self, window_s: float) -> Outcome:
        assert self.listen is not None
        return exchange(self.listen, self._payload(), window_s)

    def _answers(self, upstream: str, window_s: float) -> Outcome | None:
        """The direct calibration: how the upstream itself reacts to the probe."""
        if not self._payload() or not upstream:
            return None
        direct = exchange(upstream, self._payload(), window_s)
        return direct if direct.event in ("data", "eof") else None

    def _upstream_down(self, upstream: str) -> bool:
        """The proxy closes a client at once when its upstream cannot be dialled (like the
        real server): then a probe shows that, not the fault, and the API check decides."""
        return bool(upstream) and exchange(upstream, None, 0.0).event in ("refused", "error")

    def _fail(self, what: str, got: Outcome) -> FaultNotEffective:
        extra = f" after {got.first_s * 1000:.0f} ms" if got.first_s is not None else ""
        return FaultNotEffective(f"proxy {self.proxy} ({self.listen}): {what}, probe got "
                                 f"{got.event}{extra} {got.detail}".rstrip())


def _check_refuse(a: ToxicAction, upstream: str) -> None:
    got = exchange(a.listen or "", None, 0.2)
    if got.event != "refused":
        raise a._fail("expected connection refused", got)


def _check_reset(a: ToxicAction, upstream: str) -> None:
    after = float(a.expect.get("reset_after_s", 0.0))
    if after > MAX_PROBE_WAIT_S or not a._payload():
        return  # too slow or no probe bytes: the API check stands
    if a.expect.get("answer_needed", True) and a._answers(upstream, 2.0) is None:
        return  # the upstream does not answer these bytes: nothing would trigger the RST
    got = a._through(after + 2.0)
    if got.event != "reset" and not a._upstream_down(upstream):
        raise a._fail("expected a reset (ECONNRESET)", got)


def _check_blackhole(a: ToxicAction, upstream: str) -> None:
    window = 1.0
    got = a._through(window)
    if got.event != "silent" and not a._upstream_down(upstream):
        raise a._fail("expected silence on an open connection", got)


TIMER_SLACK_S = 0.01


def _check_delay(a: ToxicAction, upstream: str) -> None:
    need = float(a.expect.get("min_delay_s", 0.0))
    if a._answers(upstream, 2.0) is None:
        got = a._through(0.05)
        if got.event in ("refused", "error"):
            raise a._fail("expected an open connection", got)
        return  # the upstream does not answer the probe: the API check stands
    got = a._through(min(need, MAX_PROBE_WAIT_S) + 0.05)
    if got.event in ("refused", "error"):
        raise a._fail("expected an open connection", got)
    # Event-loop timers may fire a millisecond early on either side of the proxy.
    early = need - TIMER_SLACK_S
    if got.first_s is not None and got.first_s < early and not a._upstream_down(upstream):
        raise a._fail(f"expected no answer before {need * 1000:.0f} ms", got)


def _check_present(a: ToxicAction, upstream: str) -> None:
    got = exchange(a.listen or "", None, 0.0)
    if got.event in ("refused", "error"):
        raise a._fail("expected the proxy to accept connections", got)


_CHECKS: dict[str, Callable[[ToxicAction, str], None]] = {
    "refuse": _check_refuse,
    "reset": _check_reset,
    "blackhole": _check_blackhole,
    "delay": _check_delay,
    "present": _check_present,
}


def toxic_token(env: FaultEnv) -> str:
    """Per run (run_dir) and occurrence (env.rng): unique names, replayable from the seed."""
    run = zlib.crc32(str(env.run_dir).encode()) & 0xFFFFFF
    return f"{run:06x}{env.rng.getrandbits(24):06x}"


class ProxiedFault:
    """A FaultType whose actions install toxics on (or disable) the selected proxies."""

    def __init__(self, name: str, params: type[ProxiedParams], description: str,
                 plan: Callable[[Any], Plan],
                 check: Callable[[Any, TargetSpec], list[str]] | None = None) -> None:
        self.name = name
        self.Params: type[FaultParams] = params
        self.instant = False
        self.description = description
        self._plan = plan
        self._check = check

    def validate(self, params: FaultParams, target: TargetSpec) -> list[str]:
        assert isinstance(params, ProxiedParams)
        errors = selection_errors(params, target)
        if self._check is not None:
            errors += self._check(params, target)
        return errors

    def actions(self, params: FaultParams, env: FaultEnv) -> list[Action]:
        assert isinstance(params, ProxiedParams)
        plan = self._plan(params)
        api = env.platform.proxy_api()
        access = getattr(env.platform, "proxy_access", None)
        reach: dict[str, str] = dict(access()) if callable(access) else {}
        token = toxic_token(env)
        out: list[Action] = []
        for proxy in selected(params, env.target):
            toxics = [{"name": f"pipechaos-{token}-{i}", "type": kind, "stream": stream,
                       "attributes": attrs} for i, (kind, stream, attrs) in enumerate(plan.toxics)]
            listen = env.platform.resolve(f"${{proxy:{proxy}}}")
            expect = {k: v for k, v in asdict(plan).items() if k not in ("toxics", "disable")}
            out.append(ToxicAction(self.name, api, proxy, listen, toxics, plan.disable,
                                   expect, params.probe, not env.target.shared_proxy_server,
                                   token=token, access=reach))
        return out

    def restore(self, record: dict[str, Any]) -> Action:
        return ToxicAction.from_record(record)


def ms(seconds: float) -> int:
    return round(seconds * 1000)
