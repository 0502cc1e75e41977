"""Resolve `${component:NAME/PORT[/INDEX]}`, `${proxy:NAME}`, `${proxy_api}` and `{index}`.

Pure functions over an address book, so the rules are tested without starting anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chaos.platforms.base import PlatformError

_REF = re.compile(r"\$\{([^{}]*)\}")
HOST = "127.0.0.1"


@dataclass(frozen=True)
class AddressBook:
    """Every address a target's strings may name."""

    ports: dict[tuple[str, str, int], int] = field(default_factory=dict)  # (comp, port, i)
    proxies: dict[str, str] = field(default_factory=dict)  # proxy name -> host:port
    proxy_api: str | None = None

    def lookup(self, ref: str) -> str:
        kind, _, rest = ref.partition(":")
        if ref == "proxy_api":
            if self.proxy_api is None:
                raise PlatformError("${proxy_api}: no proxy server is running")
            return self.proxy_api
        if kind == "component":
            return self._component(ref, rest)
        if kind == "proxy":
            if rest not in self.proxies:
                known = ", ".join(sorted(self.proxies)) or "none"
                raise PlatformError(f"${{{ref}}}: no proxy named {rest!r} (known: {known})")
            return self.proxies[rest]
        raise PlatformError(
            f"${{{ref}}}: unknown reference (use component:NAME/PORT, proxy:NAME, proxy_api)"
        )

    def _component(self, ref: str, rest: str) -> str:
        parts = rest.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise PlatformError(f"${{{ref}}}: expected component:NAME/PORT[/INDEX]")
        name, port = parts[0], parts[1]
        try:
            index = int(parts[2]) if len(parts) == 3 else 0
        except ValueError:
            raise PlatformError(f"${{{ref}}}: replica index must be an integer") from None
        if (name, port, index) not in self.ports:
            names = sorted({c for c, _, _ in self.ports})
            if name not in names:
                raise PlatformError(f"${{{ref}}}: no component named {name!r}")
            ports = sorted({p for c, p, _ in self.ports if c == name})
            if port not in ports:
                raise PlatformError(f"${{{ref}}}: component {name!r} has no port {port!r}")
            raise PlatformError(f"${{{ref}}}: component {name!r} has no replica {index}")
        return f"{HOST}:{self.ports[(name, port, index)]}"


def resolve_text(text: str, book: AddressBook) -> str:
    """Replace every ${...} reference in `text`; unknown ones raise PlatformError."""
    return _REF.sub(lambda m: book.lookup(m.group(1).strip()), text)


def resolve_value(value: Any, book: AddressBook) -> Any:
    """resolve_text applied to every string inside dicts and lists."""
    if isinstance(value, str):
        return resolve_text(value, book)
    if isinstance(value, dict):
        return {k: resolve_value(v, book) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve_value(v, book) for v in value]
    return value


def with_index(value: Any, index: int) -> Any:
    """Replace `{index}` by the replica slot in every string (before resolving)."""
    if isinstance(value, str):
        return value.replace("{index}", str(index))
    if isinstance(value, dict):
        return {k: with_index(v, index) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [with_index(v, index) for v in value]
    return value


def references(value: Any) -> list[str]:
    """Every ${...} reference named inside a value (for validation)."""
    if isinstance(value, str):
        return [m.group(1).strip() for m in _REF.finditer(value)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in references(v)]
    if isinstance(value, list | tuple):
        return [r for v in value for r in references(v)]
    return []
