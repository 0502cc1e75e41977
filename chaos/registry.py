"""Plugin registries fed by entry points; built-ins register exactly like third-party plugins.

Loading is lazy and per name: listing names reads only package metadata (chaos.entrypoints,
not importlib.metadata, which costs ~80 ms), and `get(name)` imports just that plugin, so
`validate` never pays for plugins a file does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from chaos import entrypoints
from chaos.entrypoints import EntryPoint

if TYPE_CHECKING:
    from chaos.checks.base import Check
    from chaos.faults.base import FaultType
    from chaos.observers.base import Observer
    from chaos.platforms.base import Platform
    from chaos.probes.base import Probe
    from chaos.publishers.base import Publisher

T = TypeVar("T")


class RegistryError(Exception):
    """A name that is not registered, or a plugin that failed to import."""


_SCAN: entrypoints.Table | None = None


def _scan() -> entrypoints.Table:
    """Every pipechaos.* entry point on sys.path, read once per process (each scan walks
    all of site-packages, so one per group would cost start-up time)."""
    global _SCAN
    if _SCAN is None:
        _SCAN = entrypoints.read("pipechaos.")
    return _SCAN


def rescan() -> None:
    """Forget the scan (after sys.path changed, e.g. in tests)."""
    global _SCAN
    _SCAN = None
    for reg in ALL.values():
        reg._points = None


class Registry(Generic[T]):
    """One entry-point group: name -> plugin object, imported on first use."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind  # e.g. "fault type", used in messages
        self.group = group
        self._points: dict[str, EntryPoint] | None = None
        self._loaded: dict[str, T] = {}

    def _entry_points(self) -> dict[str, EntryPoint]:
        if self._points is None:  # first on sys.path wins, like imports; a copy for register()
            self._points = dict(_scan().get(self.group, {}))
        return self._points

    def names(self) -> list[str]:
        return sorted(self._entry_points())

    def __contains__(self, name: object) -> bool:
        return name in self._entry_points()

    def target_of(self, name: str) -> str:
        """`module:attribute` the name points at, without importing it."""
        return self._entry_points()[name].value

    def unknown(self, name: str) -> str:
        """Message for a name that is not registered: did-you-mean plus the known names."""
        import difflib  # only for messages: keep it off the start-up path

        known = self.names()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listing = ", ".join(known) if known else "none registered"
        return f"unknown {self.kind} {name!r}{hint}; known: {listing}"

    def get(self, name: str) -> T:
        if name in self._loaded:
            return self._loaded[name]
        point = self._entry_points().get(name)
        if point is None:
            raise RegistryError(self.unknown(name))
        try:
            plugin: T = point.load()
        except Exception as exc:  # a broken plugin must not take the runner down
            raise RegistryError(
                f"{self.kind} {name!r}: cannot load {point.value}: {type(exc).__name__}: {exc}"
            ) from exc
        self._loaded[name] = plugin
        return plugin

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def register(self, name: str, plugin: T) -> None:
        """Add a plugin in-process (tests, embedding); entry points remain the normal path."""
        self._loaded[name] = plugin
        self._entry_points()  # make sure the table exists
        assert self._points is not None
        self._points.setdefault(name, EntryPoint(name, "<registered>", self.group))


faults: Registry[FaultType] = Registry("fault type", "pipechaos.faults")
checks: Registry[Check] = Registry("check", "pipechaos.checks")
probes: Registry[Probe] = Registry("probe", "pipechaos.probes")
platforms: Registry[type[Platform]] = Registry("platform", "pipechaos.platforms")
publishers: Registry[type[Publisher]] = Registry("publisher", "pipechaos.publishers")
observers: Registry[type[Observer]] = Registry("observer", "pipechaos.observers")
# A platform's offline target checks, apart from the platform, so `validate` does not import
# the platform (its processes, clients, TLS); a platform without an entry here is loaded
# and asked for `validate_target` instead.
platform_checks: Registry[Any] = Registry("platform check", "pipechaos.platform_checks")

ALL: dict[str, Registry[Any]] = {
    "faults": faults,
    "checks": checks,
    "probes": probes,
    "platforms": platforms,
    "publishers": publishers,
    "observers": observers,
}
