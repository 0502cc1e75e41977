"""The deployment preloads its proxies; up() checks them and creates only missing ones.

A proxy that exists with another upstream is an error (one line), not something to fix:
another run or a person may rely on it. What a run creates is journaled (fsynced) before
it exists, with the access map to reach the proxy API again, and deleted at down() or by
`pipechaos rollback` after the runner died (a port-forward's local URL dies with it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from chaos.platforms.base import PlatformError
from chaos.platforms.proxyserver import delete
from chaos.proxy.client import ToxiproxyClient, ToxiproxyError
from chaos.run import journal as jr

if TYPE_CHECKING:
    from chaos.spec.models import TargetSpec

Planned = tuple[str, str, str]  # name, listen, upstream


def missing(api_url: str, target: TargetSpec, upstreams: Callable[[str], set[str]]
            ) -> list[Planned]:
    """Check every proxy of the target; the ones the server lacks, to create."""
    plan: list[Planned] = []
    with ToxiproxyClient(api_url, timeout=10.0) as client:
        try:
            existing = client.proxies()
        except ToxiproxyError as exc:
            raise PlatformError(f"proxy server {api_url}: {exc}") from None
    for spec in target.proxies:
        accepted = upstreams(spec.upstream)
        have = existing.get(spec.name)
        if have is None:
            plan.append((spec.name, spec.listen,
                         min(accepted, key=lambda u: (u[0].isdigit(), len(u)))))
        elif str(have.get("upstream")) not in accepted:
            raise PlatformError(f"proxy {spec.name} exists with upstream "
                                f"{have.get('upstream')}, expected {min(accepted, key=len)}")
    return plan


def create(api_url: str, plan: list[Planned], journal: Path, access: dict[str, str]
           ) -> list[str]:
    """Journal the names with `access`, then create them. Returns the names journaled:
    down() deletes those (one that failed to appear is simply not found)."""
    names = [name for name, _, _ in plan]
    if not names:
        return []
    journal.parent.mkdir(parents=True, exist_ok=True)
    jr.append(journal, jr.PROXIES_CREATED, url=api_url, names=names, access=access)
    with ToxiproxyClient(api_url, timeout=10.0) as client:
        for name, listen, upstream in plan:
            try:
                client.create_proxy(name, listen, upstream)
            except ToxiproxyError as exc:
                raise PlatformError(f"proxy {name}: cannot create: {exc}") from None
    return names


def remove(api_url: str, names: list[str], journal: Path) -> list[str]:
    """Delete the proxies a run created (best effort: the server may be gone); journal
    those now gone, so `pipechaos rollback` leaves them be. The names still there."""
    gone = delete(api_url, names) if names else []
    if gone:
        jr.append(journal, jr.PROXIES_DELETED, url=api_url, names=gone)
    return [n for n in names if n not in gone]
