"""Probe names, including a family's members: `prometheus:NAME` is member NAME of the
registered probe `prometheus`, configured in the target's `probes.settings.prometheus`.

A family probe offers `member_names(settings) -> [full names]` and
`member(NAME, settings) -> Probe` (and `settings_model`, the model of one member, which
validate decodes). Everything here works on any registered probe; the runner, the sampler
and validate go through it instead of the registry alone.
"""

from __future__ import annotations

from typing import Any

from chaos import registry
from chaos.probes.base import Probe, ProbeError


def split(name: str) -> tuple[str, str | None]:
    family, sep, member = name.partition(":")
    return (family, member) if sep else (name, None)


def is_family(probe: object) -> bool:
    return callable(getattr(probe, "member", None))


def known(name: str, settings: dict[str, Any]) -> str | None:
    """None when `name` is a probe of this target; else the reason (unknown name, ...)."""
    family, member = split(name)
    if family not in registry.probes:
        return registry.probes.unknown(name)
    if member is None:
        return None
    probe = registry.probes.get(family)
    if not is_family(probe):
        return f"probe {family!r} has no members; name it alone"
    names = probe.member_names(settings)  # type: ignore[attr-defined]
    if name not in names:
        defined = ", ".join(names) or "none"
        return f"no {name!r} in probes.settings.{family}; defined: {defined}"
    return None


def get(name: str, settings: dict[str, Any]) -> Probe:
    """The probe `name` (a member bound to `settings`); RegistryError or ProbeError."""
    family, member = split(name)
    probe = registry.probes.get(family)
    if member is None:
        return probe
    if not is_family(probe):
        raise ProbeError(f"probe {family!r} has no members")
    found: Probe = probe.member(member, settings)  # type: ignore[attr-defined]
    return found


def expand(probes: dict[str, Probe], settings: dict[str, Any]) -> dict[str, Probe]:
    """The sampler's probes: a family is replaced by its members."""
    out: dict[str, Probe] = {}
    for name, probe in probes.items():
        if not is_family(probe):
            out[name] = probe
            continue
        for full in probe.member_names(settings):  # type: ignore[attr-defined]
            out[full] = get(full, settings)
    return out


def prepare(probes: dict[str, Probe]) -> dict[str, Probe]:
    """Run each probe's optional `check()` (prometheus: the endpoint answers, the query is
    accepted), so a bad one ends the run before any fault; ProbeError names the probe."""
    for name, probe in probes.items():
        check = getattr(probe, "check", None)
        if callable(check):
            try:
                check()
            except ProbeError as exc:
                raise ProbeError(f"probe {name}: {exc}") from None
    return probes
