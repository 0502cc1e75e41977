"""The deployment preloads its proxies; up() checks them and creates only missing ones.

A proxy that exists with another upstream is an error (one line), not something to fix:
another run or a person may rely on it. What a run created is deleted at down() and by
`pipechaos rollback` (the journal records the names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chaos.platforms.base import PlatformError
from chaos.proxy.client import ToxiproxyClient, ToxiproxyError

if TYPE_CHECKING:
    from chaos.spec.models import TargetSpec


def ensure(api_url: str, target: TargetSpec, upstreams: Callable[[str], set[str]]) -> list[str]:
    """Check every proxy of the target; create the missing ones. Returns those created."""
    created: list[str] = []
    with ToxiproxyClient(api_url, timeout=10.0) as client:
        try:
            existing = client.proxies()
        except ToxiproxyError as exc:
            raise PlatformError(f"proxy server {api_url}: {exc}") from None
        for spec in target.proxies:
            accepted = upstreams(spec.upstream)
            have = existing.get(spec.name)
            if have is not None:
                if str(have.get("upstream")) not in accepted:
                    raise PlatformError(
                        f"proxy {spec.name} exists with upstream {have.get('upstream')}, "
                        f"expected {min(accepted, key=len)}"
                    )
                continue
            upstream = min(accepted, key=lambda u: (u[0].isdigit(), len(u)))
            try:
                client.create_proxy(spec.name, spec.listen, upstream)
            except ToxiproxyError as exc:
                raise PlatformError(f"proxy {spec.name}: cannot create: {exc}") from None
            created.append(spec.name)
    return created


def remove(api_url: str, names: list[str]) -> None:
    """Delete the proxies a run created (best effort: the server may be gone)."""
    if not names:
        return
    with ToxiproxyClient(api_url, timeout=5.0) as client:
        for name in names:
            try:
                client.delete_proxy(name)
            except ToxiproxyError:
                continue
