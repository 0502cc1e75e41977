"""Checks that need more than one file or the registries: windows, plugin names and
parameters, names the target must define, references in settings."""

from __future__ import annotations

import re
from typing import Any

from chaos import registry
from chaos.spec import names
from chaos.spec.errors import Problem, path_text
from chaos.spec.models import Experiment, ProbeCheck, TargetSpec
from chaos.spec.struct_errors import problems as struct_problems
from chaos.spec.structs import ValidationError, decode
from chaos.spec.yamlsafe import Located, Path

_REF = re.compile(r"\$\{([a-z_]+)(?::((?:[^{}]|\{index\})*))?\}")


class _Out:
    def __init__(self, located: Located) -> None:
        self.located = located
        self.items: list[Problem] = []

    def add(self, path: Path, message: str, key: bool = False) -> None:
        pos = self.located.where(path, key=key)
        self.items.append(
            Problem(
                self.located.file,
                message,
                path_text(path),
                pos[0] if pos else None,
                pos[1] if pos else None,
            )
        )


def check_target(target: TargetSpec, located: Located) -> list[Problem]:
    out = _Out(located)
    _unique(out, "components", [c.name for c in target.components])
    _unique(out, "proxies", [p.name for p in target.proxies])
    if target.platform.type not in registry.platforms:
        out.add(("platform", "type"), registry.platforms.unknown(target.platform.type))
    else:
        _platform_problems(out, target)
    for key, ref, reg in (
        ("publisher", target.publisher, registry.publishers),
        ("observer", target.observer, registry.observers),
    ):
        if ref is not None and ref.type not in reg:
            out.add((key, "type"), reg.unknown(ref.type))
    for i, comp in enumerate(target.components):
        for key in ("tcp", "http"):
            port = getattr(comp.ready, key) if comp.ready else None
            if port is not None and port not in comp.ports:
                out.add(("components", i, "ready", key), f"port {port!r} is not in ports")
        if comp.tls and comp.tls.port not in comp.ports:
            out.add(("components", i, "tls", "port"), f"port {comp.tls.port!r} is not in ports")
    _references(out, target, located.data, ())
    _probe_members(out, target)
    return out.items


def _unknown_probe(name: str, target: TargetSpec | None) -> str | None:
    """Why `name` is not a probe (of this target: a family member must be defined there)."""
    from chaos.probes import family

    if target is None:
        base = family.split(name)[0]
        return None if base in registry.probes else registry.probes.unknown(name)
    try:
        return family.known(name, target.probes.settings)
    except registry.RegistryError as exc:
        return str(exc)


def _probe_members(out: _Out, target: TargetSpec) -> None:
    """probes.settings.NAME of a family probe (prometheus): each member against the
    family's `settings_model`, located like any other field."""
    for key, raw in target.probes.settings.items():
        if key not in registry.probes or not isinstance(raw, dict):
            continue
        try:
            model = getattr(registry.probes.get(key), "settings_model", None)
        except registry.RegistryError as exc:
            out.add(("probes", "settings", key), str(exc))
            continue
        if model is None:
            continue
        for member, spec in raw.items():
            path = ("probes", "settings", key, member)
            if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", str(member)):
                out.add(path, "a metric name is lower case letters, digits, _ . -", key=True)
                continue
            try:
                decode(model, spec)
            except ValidationError as exc:
                out.items += struct_problems(out.located, exc, model, prefix=path)


def _platform_problems(out: _Out, target: TargetSpec) -> None:
    """A platform class may check its own settings offline: `validate_target(target)` ->
    [(path, message)] (Kubernetes: namespace, address_mode, stable ordinals)."""
    name = target.platform.type
    if name not in registry.platforms:
        out.add(("platform", "type"), registry.platforms.unknown(name))
        return
    try:
        if name in registry.platform_checks:  # offline checks of their own: a light import
            hook: Any = registry.platform_checks.get(name)
        else:
            hook = getattr(registry.platforms.get(name), "validate_target", None)
    except registry.RegistryError as exc:
        out.add(("platform", "type"), str(exc))
        return
    if callable(hook):
        for path, message in hook(target):
            out.add(tuple(path), message)


def _unique(out: _Out, key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            out.add((key, i, "name"), f"duplicate name {name!r}")
        seen.add(name)


def _references(out: _Out, target: TargetSpec, node: Any, path: Path) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _references(out, target, v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _references(out, target, v, (*path, i))
    elif isinstance(node, str):
        replicas = 1
        if len(path) > 1 and path[0] == "components" and isinstance(path[1], int):
            replicas = max(1, target.components[path[1]].replicas)
        for match in _REF.finditer(node):
            for index in range(replicas if "{index}" in match.group(0) else 1):
                arg = match.group(2)
                arg = arg.replace("{index}", str(index)) if arg is not None else None
                error = _bad_reference(target, match.group(1), arg)
                if error:
                    out.add(path, error)
                    break


def _bad_reference(target: TargetSpec, kind: str, arg: str | None) -> str | None:
    if kind == "proxy_api":
        return None
    if kind == "proxy":
        if arg is None or target.proxy(arg) is None:
            known = ", ".join(p.name for p in target.proxies) or "none"
            return f"${{proxy:{arg}}}: no such proxy; defined: {known}"
        return None
    if kind == "component":
        parts = (arg or "").split("/")
        comp = target.component(parts[0])
        if len(parts) not in (2, 3) or comp is None:
            known = ", ".join(c.name for c in target.components) or "none"
            return f"${{component:{arg}}}: expected NAME/PORT[/INDEX] with a component in: {known}"
        if parts[1] not in comp.ports:
            return f"${{component:{arg}}}: component {parts[0]!r} has no port {parts[1]!r}"
        return None
    return f"${{{kind}:...}}: unknown reference kind; use component, proxy or proxy_api"


def check_experiment(
    experiment: Experiment, located: Located, target: TargetSpec | None
) -> list[Problem]:
    """Everything a plain model cannot see. `target` None: skip target-dependent checks."""
    from chaos.run.plan import jitter_of, starts
    from chaos.spec.safety import namespace_problem, pod_cap_problem

    out = _Out(located)
    window = experiment.window_s()
    if target is not None and experiment.load != "none" and target.publisher is None:
        out.add(
            ("load",),
            f"target {target.metadata.name!r} has no publisher to send load with "
            "(add one, or use load: none)",
        )
    if experiment.load == "none" and not experiment.timing.duration:
        out.add(("timing",), "duration: required with load: none (it sets the fault window)")
    for i, spec in enumerate(experiment.faults):
        base: Path = ("faults", i)
        if spec.type not in registry.faults:
            out.add((*base, "type"), registry.faults.unknown(spec.type))
            continue
        try:
            fault = registry.faults.get(spec.type)
        except registry.RegistryError as exc:
            out.add((*base, "type"), str(exc))
            continue
        instant = bool(getattr(fault, "instant", False))
        if instant and spec.duration:
            out.add((*base, "duration"), f"{spec.type} is instant: omit duration (or 0s)")
        if not instant and not spec.duration:
            out.add((*base, "duration"), f"{spec.type} needs a duration like 10s")
        if spec.until is not None and spec.every is None:
            out.add((*base, "until"), "only meaningful with every")
        if spec.every is not None:
            if spec.every <= 0:
                out.add((*base, "every"), "must be longer than 0s")
            elif spec.duration and spec.every <= spec.duration:
                out.add((*base, "every"), "must be longer than duration (occurrences overlap)")
        jitter = jitter_of(spec)
        if window > 0:
            for start in starts(spec, window) if (spec.every or 0) > 0 else [spec.at]:
                end = start + jitter + (spec.duration or 0.0)
                if not 0 <= start < window:
                    out.add((*base, "at"), f"{start:g}s is outside the window [0, {window:g}s)")
                    break
                if end > window:
                    out.add(
                        (*base, "duration"),
                        f"occurrence at {start:g}s ends at {end:g}s, "
                        f"after the window ({window:g}s)",
                    )
                    break
        parsed = _fault_params(out, fault, spec.params, base, target)
        if parsed is not None and target is not None:
            over = pod_cap_problem(spec.type, fault, parsed, target, experiment.safety.max_pods)
            if over is not None:
                out.add((*base, "mode") if "mode" in spec.params else base, over)
    for i, inv in enumerate(experiment.invariants):
        base = ("invariants", i)
        if inv.check not in registry.checks:
            raw = located.data.get("invariants")
            where = (*base, "check") if isinstance(raw, list) and isinstance(raw[i], dict) else base
            out.add(where, registry.checks.unknown(inv.check))
            continue
        try:
            check = registry.checks.get(inv.check)
            for msg in check.validate(inv.params):
                _add_field_first(out, base, msg)
        except registry.RegistryError as exc:
            out.add(base, str(exc))
    for key in ("steady_state", "abort_when"):
        for i, item in enumerate(getattr(experiment, key)):
            unknown = _unknown_probe(item.probe, target)
            if unknown is not None:
                out.add((key, i, "probe"), unknown)
            elif key == "steady_state" and target is not None:
                _declared_bounds(out, (key, i), item, target)
    refused = None if target is None else namespace_problem(experiment, target)
    if refused is not None:
        out.add(("safety", "allowed_namespaces"), refused)
    return out.items


def _declared_bounds(out: _Out, base: Path, check: ProbeCheck, target: TargetSpec) -> None:
    """A bound written `all` needs a probe that declares a total on this target."""
    from chaos.probes.base import ProbeError, declared_total

    written = [k for k in ("min", "max", "equals") if getattr(check, k) == "all"]
    if not written:
        return
    try:
        probe = registry.probes.get(check.probe)
        total = declared_total(probe, target, target.probes.settings)
    except (registry.RegistryError, ProbeError) as exc:
        out.add((*base, written[0]), f"`all` cannot be worked out: {exc}")
        return
    if total is None:
        out.add(
            (*base, written[0]),
            f"probe {check.probe} declares no total for `all` (pods_ready does); give a number",
        )


def _fault_params(
    out: _Out, fault: Any, params: dict[str, Any], base: Path, target: TargetSpec | None
) -> Any:
    """The decoded parameters (None when they do not decode), problems added to `out`."""
    try:
        parsed = decode(fault.Params, params)
    except ValidationError as exc:
        for p in struct_problems(out.located, exc, fault.Params, prefix=base):
            out.items.append(p)
        return None
    if target is None:
        return parsed
    reported = _target_name_problems(out, params, base, target)
    try:
        messages = fault.validate(parsed, target)
    except Exception as exc:  # a plugin bug must still read as one line
        messages = [f"validation failed inside the plugin: {type(exc).__name__}: {exc}"]
    already = {str(p) for p in out.items}
    for msg in messages:
        if msg.partition(": ")[0] in reported:
            continue  # said once already, in the shared wording
        _add_field_first(out, base, msg)
        if str(out.items[-1]) in already:
            out.items.pop()
    return parsed


def _target_name_problems(
    out: _Out, params: dict[str, Any], base: Path, target: TargetSpec
) -> set[str]:
    """A `proxy`, `component` or `selector` parameter the target cannot satisfy, in the
    wording of chaos/spec/names.py; returns the fields reported, so a fault type's own
    message about the same field is not printed a second time."""
    reported: set[str] = set()
    proxy = params.get("proxy")
    if isinstance(proxy, str) and target.proxy(proxy) is None:
        out.add((*base, "proxy"), names.no_proxy(target, proxy))
        reported.add("proxy")
    component = params.get("component")
    if isinstance(component, str) and target.component(component) is None:
        out.add((*base, "component"), names.no_component(target, component))
        reported.add("component")
    line = names.missing_role(target, "selector", params.get("selector"))
    if line is not None:
        out.add((*base, "selector"), line)
        reported.add("selector")
    return reported


def _add_field_first(out: _Out, base: Path, msg: str) -> None:
    """Plugin messages read 'field: problem'; locate the field when the file has it."""
    head, sep, rest = msg.partition(": ")
    path: Path = (*base, head) if sep and " " not in head else base
    if path != base and out.located.where(path) == out.located.where(base):
        path = base
        rest = msg
    out.add(path, rest if path != base else msg)


def no_platform_checks(target: TargetSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """The local platform's offline checks: none beyond the common ones."""
    return []
