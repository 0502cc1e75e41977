"""The two Toxiproxy API calls TLS faults need: add a toxic to a proxy, remove it again.

Kept tiny and separate from the proxy package's client so a TLS fault can be rebuilt from
its journal record (API URL, proxy, toxic name) and reverted by `pipechaos rollback`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from chaos.platforms.base import PlatformError

TIMEOUT_S = 5.0


def add_toxic(api_url: str, proxy: str, toxic: dict[str, Any]) -> None:
    """POST the toxic; a 409 (same name already there, e.g. on replay) counts as done."""
    url = f"{api_url.rstrip('/')}/proxies/{quote(proxy, safe='')}/toxics"
    try:
        resp = httpx.post(url, json=toxic, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise PlatformError(f"proxy API {api_url} unreachable: {exc}") from exc
    if resp.status_code == 409:
        return
    if resp.status_code >= 300:
        raise PlatformError(
            f"proxy API refused toxic {toxic.get('name')!r} on {proxy!r}: "
            f"HTTP {resp.status_code} {_short(resp.text)}"
        )


def remove_toxic(api_url: str, proxy: str, name: str) -> bool:
    """DELETE the toxic; False when it was not there (already reverted). Idempotent."""
    url = (
        f"{api_url.rstrip('/')}/proxies/{quote(proxy, safe='')}"
        f"/toxics/{quote(name, safe='')}"
    )
    try:
        resp = httpx.delete(url, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise PlatformError(f"proxy API {api_url} unreachable: {exc}") from exc
    if resp.status_code == 404:
        return False
    if resp.status_code >= 300:
        raise PlatformError(
            f"proxy API could not remove toxic {name!r} from {proxy!r}: "
            f"HTTP {resp.status_code} {_short(resp.text)}"
        )
    return True


def _short(text: str) -> str:
    return " ".join(text.split())[:200]
